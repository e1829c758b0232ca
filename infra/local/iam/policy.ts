// A pure evaluator of IAM identity policies and resource policies (key policies, queue policies), for the
// local runtime to enforce what the synthesized templates grant. Every rule below follows the AWS IAM User
// Guide (policy evaluation logic, condition operators, set operators, policy variables) and the KMS Developer
// Guide (key policies); where the guide is silent the choice is named in a comment.

export type ConditionValue = string | number | boolean | (string | number | boolean)[];

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: '*' | Record<string, string | string[]>;
  NotPrincipal?: Record<string, string | string[]>;
  Condition?: Record<string, Record<string, ConditionValue>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

export interface Principal {
  /** The role's ARN, arn:aws:iam::ACCOUNT:role/NAME (an assumed-role session of it counts as it). */
  arn: string;
  account: string;
  tags?: Record<string, string>;
}

export interface AuthzRequest {
  /** 'dynamodb:PutItem' (service prefix and action name are matched case-insensitively). */
  action: string;
  /** An ARN, or '*' for actions without a resource (kms:CreateKey). */
  resource: string;
  principal: Principal;
  /** Request context keys (names case-insensitive): 'aws:RequestedRegion', 'kms:ResourceAliases' (multi-valued),
   *  'aws:RequestTag/k', 'aws:TagKeys', 'aws:ResourceTag/k', 'kms:EncryptionContext:k', 'kms:EncryptionContextKeys',
   *  'dynamodb:LeadingKeys', ... */
  context?: Record<string, string | string[] | number | boolean | undefined>;
}

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

/** A policy uses a condition operator this evaluator does not implement (Date*, IpAddress, Binary...). */
export class UnsupportedPolicyError extends Error {
  override name = 'UnsupportedPolicyError';
}

// Context values are kept as lists; a key that is absent or whose list is empty is a "null data set" to IAM.
type Context = Map<string, string[]>;

// One piece of a policy string after variable substitution. Substituted values are literal: `${*}` exists
// precisely so that a policy can say "a real asterisk", so nothing that came from a variable is a wildcard.
interface Chunk {
  text: string;
  wild: boolean;
}

const VARIABLE_VERSION = '2012-10-17';
const ASSUMED_ROLE = /^arn:([^:]+):sts::(\d+):assumed-role\/([^/]+)\/[^/]+$/;
const ACCOUNT_ROOT = /^arn:[^:]+:iam::(\d{12}):root$/;
const SPECIAL: Record<string, string> = { '*': '*', '?': '?', $: '$' };

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function roleArn(arn: string): string {
  const m = ASSUMED_ROLE.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn;
}

function contextOf(req: AuthzRequest): Context {
  const ctx: Context = new Map();
  for (const [k, v] of Object.entries(req.context ?? {})) {
    if (v !== undefined) ctx.set(k.toLowerCase(), list<string | number | boolean>(v).map(String));
  }
  // Set last so a request context cannot pose as another principal.
  ctx.set('aws:principalarn', [roleArn(req.principal.arn)]);
  ctx.set('aws:principalaccount', [req.principal.account]);
  for (const [k, v] of Object.entries(req.principal.tags ?? {}))
    ctx.set(`aws:principaltag/${k.toLowerCase()}`, [v]);
  return ctx;
}

// Substitutes `${key}`, `${key, 'default'}` and `${*}`/`${?}`/`${$}`; undefined when a variable has no value.
function resolve(template: string, ctx: Context, variables: boolean): Chunk[] | undefined {
  if (!variables) return [{ text: template, wild: true }];
  const chunks: Chunk[] = [];
  const re = /\$\{([^}]*)\}/g;
  let last = 0;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    chunks.push({ text: template.slice(last, m.index), wild: true });
    last = m.index + m[0].length;
    const body = m[1] ?? '';
    const special = SPECIAL[body];
    if (special !== undefined) {
      chunks.push({ text: special, wild: false });
      continue;
    }
    const [, key = '', fallback] = /^\s*([^,]+?)\s*(?:,\s*'([^']*)')?\s*$/.exec(body) ?? [];
    // Only a single-valued key can be a variable; a multi-valued one resolves to nothing.
    const values = ctx.get(key.toLowerCase());
    const value = values?.length === 1 ? values[0] : fallback;
    if (value === undefined) return undefined;
    chunks.push({ text: value, wild: false });
  }
  chunks.push({ text: template.slice(last), wild: true });
  return chunks;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Compiled patterns, by their chunks and flags: every request is checked against every
 * statement, and compiling the same few patterns again each time was the proxy's largest cost.
 */
const compiled = new Map<string, RegExp>();
function memoRegex(kind: string, chunks: Chunk[], flags: string, build: () => RegExp): RegExp {
  const key = `${kind}\0${flags}\0${chunks.map((c) => `${c.wild ? '*' : '='}${c.text}`).join('\0')}`;
  let re = compiled.get(key);
  if (!re) {
    if (compiled.size >= 10_000) compiled.clear();
    re = build();
    compiled.set(key, re);
  }
  return re;
}

// A glob over the whole string: `*` and `?` may span colons and slashes.
function globRegex(chunks: Chunk[], flags = ''): RegExp {
  return memoRegex('glob', chunks, flags, () => buildGlobRegex(chunks, flags));
}

function buildGlobRegex(chunks: Chunk[], flags: string): RegExp {
  const body = chunks
    .map((c) =>
      c.wild
        ? [...c.text]
            .map((ch) => (ch === '*' ? '[\\s\\S]*' : ch === '?' ? '[\\s\\S]' : escapeRegex(ch)))
            .join('')
        : escapeRegex(c.text),
    )
    .join('');
  return new RegExp(`^${body}$`, flags);
}

// ArnLike: "each of the six colon-delimited components of the ARN is checked separately", so a wildcard in
// the first five components stops at a colon; the sixth (resource) component may itself hold colons.
function arnRegex(chunks: Chunk[]): RegExp {
  return memoRegex('arn', chunks, '', () => buildArnRegex(chunks));
}

function buildArnRegex(chunks: Chunk[]): RegExp {
  let colons = 0;
  let body = '';
  for (const c of chunks) {
    for (const ch of c.text) {
      const inResource = colons >= 5;
      if (ch === ':') colons++;
      if (c.wild && ch === '*') body += inResource ? '[\\s\\S]*' : '[^:]*';
      else if (c.wild && ch === '?') body += inResource ? '[\\s\\S]' : '[^:]';
      else body += escapeRegex(ch);
    }
  }
  return new RegExp(`^${body}$`);
}

const joined = (chunks: Chunk[]) => chunks.map((c) => c.text).join('');

function asNumber(s: string): number | undefined {
  const n = s.trim() === '' ? Number.NaN : Number(s);
  return Number.isNaN(n) ? undefined : n;
}

type Matcher = (actual: string, expected: Chunk[]) => boolean;
const numeric =
  (cmp: (a: number, b: number) => boolean): Matcher =>
  (actual, expected) => {
    const a = asNumber(actual);
    const b = asNumber(joined(expected));
    return a !== undefined && b !== undefined && cmp(a, b);
  };

const arnLike: Matcher = (a, e) => arnRegex(e).test(a);
// Each operator in its positive form, keyed by lower-case name.
const OPERATORS: Record<string, Matcher> = {
  stringequals: (a, e) => a === joined(e),
  stringequalsignorecase: (a, e) => a.toLowerCase() === joined(e).toLowerCase(),
  stringlike: (a, e) => globRegex(e).test(a),
  // "The ArnEquals and ArnLike condition operators behave identically."
  arnequals: arnLike,
  arnlike: arnLike,
  numericequals: numeric((a, b) => a === b),
  numericlessthan: numeric((a, b) => a < b),
  numericlessthanequals: numeric((a, b) => a <= b),
  numericgreaterthan: numeric((a, b) => a > b),
  numericgreaterthanequals: numeric((a, b) => a >= b),
  bool: (a, e) => a.toLowerCase() === joined(e).toLowerCase(),
};
// A negated operator is the negation of its positive form over all policy values: "the string cannot match
// any of the values listed to resolve the condition to true".
const NEGATED: Record<string, string> = {
  stringnotequals: 'stringequals',
  stringnotequalsignorecase: 'stringequalsignorecase',
  stringnotlike: 'stringlike',
  arnnotequals: 'arnequals',
  arnnotlike: 'arnlike',
  numericnotequals: 'numericequals',
};

function keyMatches(
  operator: string,
  key: string,
  expected: ConditionValue,
  ctx: Context,
  variables: boolean,
): boolean {
  let name = operator;
  const set = /^(ForAnyValue|ForAllValues):/i.exec(name)?.[1]?.toLowerCase();
  if (set) name = name.slice(set.length + 1);
  const ifExists = /IfExists$/i.test(name);
  if (ifExists) name = name.slice(0, -'IfExists'.length);

  const present = ctx.get(key.toLowerCase());
  const actual = present?.length ? present : undefined;
  const policyValues = list<string | number | boolean>(expected).map(String);

  if (name.toLowerCase() === 'null' && !set && !ifExists) {
    // `true`: the key is absent (null); `false`: it is present. Variables are not allowed here.
    return policyValues.some((v) => (v.toLowerCase() === 'true') === (actual === undefined));
  }
  const negated = NEGATED[name.toLowerCase()] !== undefined;
  const match = OPERATORS[NEGATED[name.toLowerCase()] ?? name.toLowerCase()];
  if (!match) throw new UnsupportedPolicyError(`condition operator ${operator} is not supported`);

  if (actual === undefined) {
    if (ifExists) return true;
    // ForAllValues is vacuously true over no values; ForAnyValue finds no value to match.
    if (set === 'forallvalues') return true;
    if (set === 'foranyvalue') return false;
    // "If the policy condition requires that the key is not matched ... and the key is not present, true."
    return negated;
  }
  const patterns = policyValues.map((v) => resolve(v, ctx, variables));
  // A variable with no value matches nothing, so its negation matches (IAM User Guide, policy variables).
  const positive = (a: string) => patterns.some((p) => p !== undefined && match(a, p));
  const satisfies = (a: string) => positive(a) !== negated;
  if (set === 'forallvalues') return actual.every(satisfies);
  if (set === 'foranyvalue') return actual.some(satisfies);
  // The guide requires a set operator for multi-valued keys and does not define a plain operator on one;
  // we read it as "any value matches", and its negation as "no value matches".
  return negated ? actual.every(satisfies) : actual.some(satisfies);
}

function conditionsMatch(stmt: PolicyStatement, ctx: Context, variables: boolean): boolean {
  // All operators and all keys AND together; the values of one key OR (inside keyMatches).
  return Object.entries(stmt.Condition ?? {}).every(([operator, block]) =>
    Object.entries(block).every(([key, expected]) => keyMatches(operator, key, expected, ctx, variables)),
  );
}

function actionMatches(stmt: PolicyStatement, action: string): boolean {
  const matches = (patterns: string[]) =>
    patterns.some((p) => globRegex([{ text: p, wild: true }], 'i').test(action));
  if (stmt.Action !== undefined) return matches(list(stmt.Action));
  if (stmt.NotAction !== undefined) return !matches(list(stmt.NotAction));
  return false;
}

function resourceMatches(
  stmt: PolicyStatement,
  resource: string,
  ctx: Context,
  variables: boolean,
  implicit: boolean,
): boolean {
  const matches = (patterns: string[]) =>
    patterns.some((p) => {
      const chunks = resolve(p, ctx, variables);
      // "A resource that includes a policy variable with no value will not match any resource."
      return chunks !== undefined && globRegex(chunks).test(resource);
    });
  if (stmt.Resource !== undefined) return matches(list(stmt.Resource));
  if (stmt.NotResource !== undefined) return !matches(list(stmt.NotResource));
  // A resource policy's statements are about the resource it is attached to; an identity policy must say.
  return implicit;
}

type Reach = 'principal' | 'account' | undefined;

function principalReach(entries: Record<string, string | string[]>, principal: Principal): Reach {
  const arn = roleArn(principal.arn);
  let reach: Reach;
  // Only `AWS` names IAM principals; `Service`, `Federated` and `CanonicalUser` never name a role.
  for (const entry of list(entries.AWS)) {
    if (entry === '*') return 'principal';
    if (entry === principal.account || ACCOUNT_ROOT.exec(entry)?.[1] === principal.account) reach = 'account';
    else if (globRegex([{ text: entry, wild: true }]).test(arn)) return 'principal';
  }
  return reach;
}

function statementReach(stmt: PolicyStatement, principal: Principal): Reach {
  if (stmt.Principal === '*') return 'principal';
  if (stmt.Principal !== undefined) return principalReach(stmt.Principal, principal);
  // NotPrincipal applies to everyone not listed; listing the account exempts all of its principals.
  if (stmt.NotPrincipal !== undefined)
    return principalReach(stmt.NotPrincipal, principal) ? undefined : 'principal';
  return undefined;
}

const statements = (doc: PolicyDocument) => list(doc.Statement);

function applies(
  doc: PolicyDocument,
  stmt: PolicyStatement,
  req: AuthzRequest,
  ctx: Context,
  resourcePolicy: boolean,
): boolean {
  // "If you don't include the Version element ... variables are treated as literal strings."
  const variables = doc.Version === VARIABLE_VERSION;
  return (
    actionMatches(stmt, req.action) &&
    resourceMatches(stmt, req.resource, ctx, variables, resourcePolicy) &&
    conditionsMatch(stmt, ctx, variables)
  );
}

/** Identity-based policies of one principal (all of the role's policies together). */
export function evaluateIdentityPolicies(policies: PolicyDocument[], req: AuthzRequest): Decision {
  const ctx = contextOf(req);
  let allowed = false;
  for (const doc of policies) {
    for (const stmt of statements(doc)) {
      if (!applies(doc, stmt, req, ctx, false)) continue;
      if (stmt.Effect === 'Deny') return 'explicit-deny';
      allowed = true;
    }
  }
  return allowed ? 'allow' : 'implicit-deny';
}

/** A resource-based policy (key policy, queue policy): which statements apply to this principal. */
export function evaluateResourcePolicy(
  policy: PolicyDocument,
  req: AuthzRequest,
): {
  explicitDeny: boolean;
  /** An Allow naming this principal (its role ARN, '*', or an ARN pattern matching it). */
  allowsPrincipal: boolean;
  /** An Allow naming only the account (arn:aws:iam::ACCOUNT:root or 'ACCOUNT'): it delegates to IAM. */
  allowsAccount: boolean;
} {
  const ctx = contextOf(req);
  const result = { explicitDeny: false, allowsPrincipal: false, allowsAccount: false };
  for (const stmt of statements(policy)) {
    const reach = statementReach(stmt, req.principal);
    if (!reach || !applies(policy, stmt, req, ctx, true)) continue;
    if (stmt.Effect === 'Deny') result.explicitDeny = true;
    else if (reach === 'principal') result.allowsPrincipal = true;
    else result.allowsAccount = true;
  }
  return result;
}

/** KMS's rule: explicit deny anywhere denies; the key policy allowing the principal allows; the key policy
 *  allowing the account allows only if the identity policies allow too; otherwise denied. */
export function authorizeKms(
  keyPolicy: PolicyDocument,
  identityPolicies: PolicyDocument[],
  req: AuthzRequest,
): Decision {
  const key = evaluateResourcePolicy(keyPolicy, req);
  const identity = evaluateIdentityPolicies(identityPolicies, req);
  if (key.explicitDeny || identity === 'explicit-deny') return 'explicit-deny';
  if (key.allowsPrincipal) return 'allow';
  // Without the account in the key policy, IAM policies cannot give access to the key at all.
  return key.allowsAccount && identity === 'allow' ? 'allow' : 'implicit-deny';
}

/** Same-account rule for other services (DynamoDB, SQS without queue policies): identity policies, plus an
 *  optional resource policy. */
export function authorize(
  identityPolicies: PolicyDocument[],
  req: AuthzRequest,
  resourcePolicy?: PolicyDocument,
): Decision {
  const identity = evaluateIdentityPolicies(identityPolicies, req);
  const resource = resourcePolicy ? evaluateResourcePolicy(resourcePolicy, req) : undefined;
  if (identity === 'explicit-deny' || resource?.explicitDeny) return 'explicit-deny';
  // Same account: an Allow in either policy suffices; a grant to the account alone only delegates to IAM.
  return identity === 'allow' || resource?.allowsPrincipal ? 'allow' : 'implicit-deny';
}
