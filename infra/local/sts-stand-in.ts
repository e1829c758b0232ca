import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import {
  type AuthzRequest,
  evaluateIdentityPolicies,
  evaluateResourcePolicy,
  type PolicyDocument,
} from './iam/policy.ts';
import type { LocalIdentity } from './iam/proxy.ts';

/** A role the local runtime knows: its identity (policies, tags) and its trust policy. */
export interface LocalRole {
  identity: LocalIdentity;
  trust: PolicyDocument;
}

export interface StsStandInOptions {
  account: string;
  /** The role behind an access key id (a function's execution role, or an earlier session). */
  identityOf: (accessKeyId: string) => LocalIdentity | undefined;
  roleOf: (roleArn: string) => LocalRole | undefined;
  /** Registers a session's access key id, so the IAM proxies authorize its calls as the assumed role with its tags. */
  register: (session: LocalIdentity) => void;
  /**
   * Without IAM enforcement, these credentials are handed out unchecked (the services see one
   * database, as every function's own calls do).
   */
  unchecked?: { accessKeyId: string; secretAccessKey: string };
  onDenied?: (reason: string) => void;
}

const CREDENTIAL = /Credential=([^/,\s]+)\//;
const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const xml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A development stand-in for STS (AssumeRole with session tags only), so a tenant-scoped
 * function's real `AssumeRoleCommand` runs unchanged. It checks what AWS checks: the caller's
 * identity policies allow sts:AssumeRole (and sts:TagSession when tags are passed) on the role,
 * and the role's trust policy allows the caller for both, with `aws:RequestTag/*` and
 * `aws:TagKeys` in the request context. The session's access key id is then registered with the
 * IAM proxies as the assumed role, whose principal tags are the role's tags overridden by the
 * session tags (as in AWS).
 */
export async function startStsStandIn(
  o: StsStandInOptions,
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const fail = (status: number, code: string, message: string) => {
      res
        .writeHead(status, { 'content-type': 'text/xml' })
        .end(
          `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
        );
    };
    if (form.get('Action') !== 'AssumeRole') {
      fail(400, 'InvalidAction', `The STS stand-in answers AssumeRole only, not ${form.get('Action')}`);
      return;
    }
    const roleArn = form.get('RoleArn') ?? '';
    const sessionName = form.get('RoleSessionName') ?? '';
    const duration = Number(form.get('DurationSeconds') ?? 3600);
    const tags: Record<string, string> = {};
    for (let i = 1; ; i++) {
      const key = form.get(`Tags.member.${i}.Key`);
      if (key === null) break;
      tags[key] = form.get(`Tags.member.${i}.Value`) ?? '';
    }
    const accessKeyId = CREDENTIAL.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    const expiration = new Date(Date.now() + duration * 1000);
    let credentials = o.unchecked;
    if (!credentials) {
      const caller = o.identityOf(accessKeyId);
      const role = o.roleOf(roleArn);
      const denied = (why: string) => {
        const message = `User: ${caller?.roleArn ?? accessKeyId} is not authorized to perform: sts:AssumeRole on resource: ${roleArn} ${why}`;
        process.stderr.write(`STS denied: ${message}\n`);
        o.onDenied?.(message);
        fail(403, 'AccessDenied', message);
      };
      if (!caller) return denied('(unknown caller)');
      if (!role) return denied('(no such role)');
      const context: AuthzRequest['context'] = {
        ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
        'aws:TagKeys': Object.keys(tags),
      };
      const actions =
        Object.keys(tags).length > 0 ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole'];
      for (const action of actions) {
        const request: AuthzRequest = {
          action,
          resource: roleArn,
          principal: { arn: caller.roleArn, account: o.account, tags: caller.tags },
          context,
        };
        if (evaluateIdentityPolicies(caller.policies, request) !== 'allow') {
          return denied(`because no identity-based policy allows the ${action} action`);
        }
        const trust = evaluateResourcePolicy(role.trust, request);
        if (trust.explicitDeny || !trust.allowsPrincipal) {
          return denied(`because the role's trust policy does not allow the ${action} action`);
        }
      }
      credentials = {
        accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
        secretAccessKey: randomBytes(30).toString('base64'),
      };
      o.register({
        accessKeyId: credentials.accessKeyId,
        roleArn,
        roleName: `${role.identity.roleName}/${sessionName}`,
        policies: role.identity.policies,
        tags: { ...role.identity.tags, ...tags },
      });
    }
    const roleName = roleArn.replace(/^.*:role\//, '');
    res
      .writeHead(200, { 'content-type': 'text/xml' })
      .end(
        `<AssumeRoleResponse xmlns="${XMLNS}"><AssumeRoleResult><Credentials>` +
          `<AccessKeyId>${credentials.accessKeyId}</AccessKeyId><SecretAccessKey>${xml(credentials.secretAccessKey)}</SecretAccessKey>` +
          `<SessionToken>${randomBytes(24).toString('base64')}</SessionToken><Expiration>${expiration.toISOString()}</Expiration>` +
          `</Credentials><AssumedRoleUser><AssumedRoleId>AROA${randomBytes(8).toString('hex').toUpperCase()}:${xml(sessionName)}</AssumedRoleId>` +
          `<Arn>arn:aws:sts::${o.account}:assumed-role/${xml(roleName)}/${xml(sessionName)}</Arn></AssumedRoleUser>` +
          `</AssumeRoleResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
      );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
