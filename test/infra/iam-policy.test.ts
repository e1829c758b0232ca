// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are written ${...} inside plain strings.
import { describe, expect, it } from 'vitest';
import {
  type AuthzRequest,
  authorize,
  authorizeKms,
  evaluateIdentityPolicies,
  evaluateResourcePolicy,
  type PolicyDocument,
  type PolicyStatement,
  UnsupportedPolicyError,
} from '../../infra/local/iam/policy.ts';

// Doc titles cited below are from the AWS IAM User Guide and the AWS KMS Developer Guide.

const ACCOUNT = '000000000000';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/sms-gateway-send-message`;
const TABLE = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/sms-gateway-global-messages`;
const QUEUE = `arn:aws:sqs:us-east-1:${ACCOUNT}:sms-gateway-dispatch`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const policy = (...Statement: PolicyStatement[]): PolicyDocument => ({ Version: '2012-10-17', Statement });
const request = (over: Partial<AuthzRequest> = {}): AuthzRequest => ({
  action: 'dynamodb:GetItem',
  resource: TABLE,
  principal: { arn: ROLE, account: ACCOUNT },
  ...over,
});
const decide = (statement: PolicyStatement, over: Partial<AuthzRequest> = {}) =>
  evaluateIdentityPolicies([policy(statement)], request(over));

describe('actions and resources', () => {
  // The shape CDK's table.grantReadData produces.
  const readTable = policy({
    Effect: 'Allow',
    Action: [
      'dynamodb:BatchGetItem',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:Query',
      'dynamodb:GetItem',
      'dynamodb:Scan',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DescribeTable',
    ],
    Resource: [TABLE, `${TABLE}/index/*`],
  });

  it('allows a granted DynamoDB action on the table and on its indexes', () => {
    // Prepare
    const onIndex = request({ action: 'dynamodb:Query', resource: `${TABLE}/index/byRecipient` });
    // Act
    const decisions = [
      evaluateIdentityPolicies([readTable], request()),
      evaluateIdentityPolicies([readTable], onIndex),
    ];
    // Assess
    expect(decisions).toEqual(['allow', 'allow']);
  });

  it('denies implicitly an action the policy does not list, and another table', () => {
    // Prepare
    const write = request({ action: 'dynamodb:PutItem' });
    const other = request({
      resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/sms-gateway-eu-messages`,
    });
    // Act
    const decisions = [
      evaluateIdentityPolicies([readTable], write),
      evaluateIdentityPolicies([readTable], other),
    ];
    // Assess
    expect(decisions).toEqual(['implicit-deny', 'implicit-deny']);
  });

  it('matches the action name case-insensitively but the resource case-sensitively', () => {
    // Prepare: IAM JSON policy elements: Action ("The prefix and the action name are case insensitive").
    const statement: PolicyStatement = { Effect: 'Allow', Action: 'SQS:sendmessage', Resource: QUEUE };
    // Act
    const sameCase = decide(statement, { action: 'sqs:SendMessage', resource: QUEUE });
    const upperQueue = decide(statement, { action: 'sqs:SendMessage', resource: QUEUE.toUpperCase() });
    // Assess
    expect([sameCase, upperQueue]).toEqual(['allow', 'implicit-deny']);
  });

  it('expands * and ? in actions, and * in a resource across slashes', () => {
    // Prepare: IAM JSON policy elements: Resource, "DOC-EXAMPLE-BUCKET/*/test/*" covers 1/2/test/object.jpg.
    const statement: PolicyStatement = {
      Effect: 'Allow',
      Action: 's3:Get?bject*',
      Resource: 'arn:aws:s3:::DOC-EXAMPLE-BUCKET/*/test/*',
    };
    // Act
    const deep = decide(statement, {
      action: 's3:GetObjectTagging',
      resource: 'arn:aws:s3:::DOC-EXAMPLE-BUCKET/1/2/test/object.jpg',
    });
    const outside = decide(statement, {
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::DOC-EXAMPLE-BUCKET/1/2/prod/object.jpg',
    });
    // Assess
    expect([deep, outside]).toEqual(['allow', 'implicit-deny']);
  });

  it('never matches an identity statement that has no Action or no Resource', () => {
    // Prepare
    const noResource = { Effect: 'Allow', Action: '*' } as PolicyStatement;
    const noAction = { Effect: 'Allow', Resource: '*' } as PolicyStatement;
    // Act
    const decisions = [decide(noResource), decide(noAction)];
    // Assess
    expect(decisions).toEqual(['implicit-deny', 'implicit-deny']);
  });

  it('allows with NotAction everything but the listed actions', () => {
    // Prepare: IAM JSON policy elements: NotAction, "NotAction with Allow" (everything except IAM).
    const statement: PolicyStatement = { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' };
    // Act
    const dynamo = decide(statement);
    const iam = decide(statement, { action: 'iam:CreateUser', resource: `arn:aws:iam::${ACCOUNT}:user/Bob` });
    // Assess
    expect([dynamo, iam]).toEqual(['allow', 'implicit-deny']);
  });

  it('denies with NotResource every resource but the listed ones', () => {
    // Prepare: IAM JSON policy elements: NotResource, the HRPayroll example.
    const hr = policy(
      { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      {
        Effect: 'Deny',
        Action: 's3:*',
        NotResource: ['arn:aws:s3:::HRBucket/Payroll', 'arn:aws:s3:::HRBucket/Payroll/*'],
      },
    );
    // Act
    const payroll = evaluateIdentityPolicies(
      [hr],
      request({ action: 's3:GetObject', resource: 'arn:aws:s3:::HRBucket/Payroll/march.csv' }),
    );
    const other = evaluateIdentityPolicies(
      [hr],
      request({ action: 's3:GetObject', resource: 'arn:aws:s3:::HRBucket/Bonus/march.csv' }),
    );
    // Assess
    expect([payroll, other]).toEqual(['allow', 'explicit-deny']);
  });

  it('lets an explicit Deny in one policy win over an Allow in another', () => {
    // Prepare: Policy evaluation logic, "An explicit deny in any policy overrides any allows."
    const allow = policy({ Effect: 'Allow', Action: 'sqs:*', Resource: QUEUE });
    const deny = policy({ Effect: 'Deny', Action: 'sqs:SendMessage', Resource: '*' });
    // Act
    const send = evaluateIdentityPolicies(
      [allow, deny],
      request({ action: 'sqs:SendMessage', resource: QUEUE }),
    );
    const receive = evaluateIdentityPolicies(
      [allow, deny],
      request({ action: 'sqs:ReceiveMessage', resource: QUEUE }),
    );
    // Assess
    expect([send, receive]).toEqual(['explicit-deny', 'allow']);
  });
});

describe('conditions', () => {
  it('denies outside the requested regions with StringNotEquals on aws:RequestedRegion', () => {
    // Prepare: Example policy "AWS: Denies access to AWS based on the requested Region".
    const regions = policy(
      { Effect: 'Allow', Action: '*', Resource: '*' },
      {
        Effect: 'Deny',
        NotAction: ['cloudfront:*', 'iam:*', 'route53:*', 'support:*'],
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:RequestedRegion': ['eu-central-1', 'eu-west-1', 'eu-west-2'] } },
      },
    );
    const at = (region: string, action = 'dynamodb:GetItem') =>
      evaluateIdentityPolicies([regions], request({ action, context: { 'aws:requestedregion': region } }));
    // Act
    const decisions = [at('eu-west-1'), at('us-east-1'), at('us-east-1', 'iam:GetRole')];
    // Assess
    expect(decisions).toEqual(['allow', 'explicit-deny', 'allow']);
  });

  it('ANDs operators and keys and ORs the values of one key', () => {
    // Prepare: Creating a condition with multiple keys or values, the department/role/account block.
    const statement: PolicyStatement = {
      Effect: 'Allow',
      Action: 'dynamodb:GetItem',
      Resource: TABLE,
      Condition: {
        StringEqualsIgnoreCase: {
          'aws:PrincipalTag/department': ['finance', 'hr', 'legal'],
          'aws:PrincipalTag/role': ['audit', 'security'],
        },
        StringEquals: { 'aws:PrincipalAccount': ACCOUNT },
      },
    };
    const withTags = (tags: Record<string, string>, account = ACCOUNT) =>
      decide(statement, { principal: { arn: ROLE, account, tags } });
    // Act
    const decisions = [
      withTags({ department: 'HR', role: 'audit' }),
      withTags({ department: 'hr' }),
      withTags({ department: 'sales', role: 'audit' }),
      withTags({ department: 'hr', role: 'audit' }, '111122223333'),
    ];
    // Assess
    expect(decisions).toEqual(['allow', 'implicit-deny', 'implicit-deny', 'implicit-deny']);
  });

  it('fails a plain operator on a missing key and passes a negated one', () => {
    // Prepare: IAM JSON policy elements: Condition operators, the "Important" note on absent keys.
    const like = { StringLike: { 'ec2:InstanceType': ['t1.*', 't2.*', 'm3.*'] } };
    const notLike = { StringNotLike: { 'ec2:InstanceType': ['t1.*', 't2.*', 'm3.*'] } };
    const base = { Effect: 'Allow', Action: 'ec2:RunInstances', Resource: '*' } as const;
    const run = { action: 'ec2:RunInstances', resource: 'arn:aws:ec2:us-east-1::image/ami-1' };
    // Act
    const decisions = [
      decide({ ...base, Condition: like }, run),
      decide({ ...base, Condition: notLike }, run),
    ];
    // Assess
    expect(decisions).toEqual(['implicit-deny', 'allow']);
  });

  it('passes ...IfExists on a missing key and tests the key when present', () => {
    // Prepare: IAM JSON policy elements: Condition operators, the StringLikeIfExists ec2:InstanceType example.
    const statement: PolicyStatement = {
      Effect: 'Allow',
      Action: 'ec2:RunInstances',
      Resource: '*',
      Condition: { StringLikeIfExists: { 'ec2:InstanceType': ['t1.*', 't2.*', 'm3.*'] } },
    };
    const launch = (context: AuthzRequest['context']) =>
      decide(statement, { action: 'ec2:RunInstances', resource: '*', context });
    // Act
    const decisions = [
      launch({}),
      launch({ 'ec2:InstanceType': 't2.micro' }),
      launch({ 'ec2:InstanceType': 'p4.large' }),
    ];
    // Assess
    expect(decisions).toEqual(['allow', 'allow', 'implicit-deny']);
  });

  it('tests presence with Null', () => {
    // Prepare: IAM JSON policy elements: Condition operators, the aws:TokenIssueTime Null example.
    const statement: PolicyStatement = {
      Effect: 'Allow',
      Action: 'ec2:*',
      Resource: '*',
      Condition: { Null: { 'aws:TokenIssueTime': 'true' } },
    };
    const call = (context: AuthzRequest['context']) =>
      decide(statement, { action: 'ec2:DescribeInstances', resource: '*', context });
    // Act
    const decisions = [call({}), call({ 'aws:TokenIssueTime': '2024-01-01T00:00:00Z' })];
    // Assess
    expect(decisions).toEqual(['allow', 'implicit-deny']);
  });

  it('matches Bool and BoolIfExists against boolean and string context values', () => {
    // Prepare: IAM JSON policy elements: NotAction, "DenyAllUsersNotUsingMFA" with BoolIfExists.
    const mfa = policy(
      { Effect: 'Allow', Action: '*', Resource: '*' },
      {
        Effect: 'Deny',
        NotAction: 'iam:*',
        Resource: '*',
        Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
      },
    );
    const call = (context: AuthzRequest['context']) => evaluateIdentityPolicies([mfa], request({ context }));
    // Act
    const decisions = [
      call({ 'aws:MultiFactorAuthPresent': true }),
      call({ 'aws:MultiFactorAuthPresent': 'false' }),
      call({}),
    ];
    // Assess
    expect(decisions).toEqual(['allow', 'explicit-deny', 'explicit-deny']);
  });

  it('compares numbers numerically', () => {
    // Prepare: IAM JSON policy elements: Condition operators, the s3:max-keys NumericLessThanEquals example.
    const statement: PolicyStatement = {
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: 'arn:aws:s3:::DOC-EXAMPLE-BUCKET',
      Condition: { NumericLessThanEquals: { 's3:max-keys': '10' } },
    };
    const list = (maxKeys: number | string) =>
      decide(statement, {
        action: 's3:ListBucket',
        resource: 'arn:aws:s3:::DOC-EXAMPLE-BUCKET',
        context: { 's3:max-keys': maxKeys },
      });
    // Act
    const decisions = [list(9), list('10'), list(100), list('many')];
    // Assess
    expect(decisions).toEqual(['allow', 'allow', 'implicit-deny', 'implicit-deny']);
  });

  it('matches ArnLike component by component', () => {
    // Prepare: IAM JSON policy elements: Condition operators, ARN operators ("each of the six colon-delimited
    // components ... is checked separately").
    const statement = (pattern: string): PolicyStatement => ({
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: QUEUE,
      Condition: { ArnLike: { 'aws:SourceArn': pattern } },
    });
    const send = (pattern: string) =>
      decide(statement(pattern), {
        action: 'sqs:SendMessage',
        resource: QUEUE,
        context: { 'aws:SourceArn': `arn:aws:sns:us-east-1:${ACCOUNT}:topic:sub` },
      });
    // Act
    const decisions = [send(`arn:aws:sns:*:${ACCOUNT}:*`), send('arn:aws:sns:*'), send('arn:aws:sqs:*:*:*')];
    // Assess
    expect(decisions).toEqual(['allow', 'implicit-deny', 'implicit-deny']);
  });

  it('throws on an operator it does not implement rather than guessing', () => {
    // Prepare
    const statement: PolicyStatement = {
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
    };
    // Act
    const act = () => decide(statement, { context: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } });
    // Assess
    expect(act).toThrow(UnsupportedPolicyError);
  });
});

describe('set operators on multi-valued keys', () => {
  // Creating a condition with multiple keys or values: the DynamoDB Thread table examples.
  const onlyThese = policy({
    Effect: 'Allow',
    Action: 'dynamodb:GetItem',
    Resource: 'arn:aws:dynamodb:*:*:table/Thread',
    Condition: {
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['PostDateTime', 'Message', 'Tags'] },
    },
  });
  const notThese = policy(
    { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: '*' },
    {
      Effect: 'Deny',
      Action: 'dynamodb:PutItem',
      Resource: 'arn:aws:dynamodb:*:*:table/Thread',
      Condition: { 'ForAnyValue:StringEquals': { 'dynamodb:Attributes': ['ID', 'PostDateTime'] } },
    },
  );
  const thread = (action: string, attributes?: string[]) =>
    request({
      action,
      resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/Thread`,
      context: { 'dynamodb:Attributes': attributes },
    });

  it('ForAllValues needs every request value in the policy, and is true when the key is absent', () => {
    // Act
    const decisions = [
      evaluateIdentityPolicies([onlyThese], thread('dynamodb:GetItem', ['Message', 'Tags'])),
      evaluateIdentityPolicies([onlyThese], thread('dynamodb:GetItem', ['PostDateTime', 'UserName'])),
      evaluateIdentityPolicies([onlyThese], thread('dynamodb:GetItem')),
      evaluateIdentityPolicies([onlyThese], thread('dynamodb:GetItem', [])),
    ];
    // Assess
    expect(decisions).toEqual(['allow', 'implicit-deny', 'allow', 'allow']);
  });

  it('ForAnyValue needs one request value in the policy, and is false when the key is absent', () => {
    // Act
    const decisions = [
      evaluateIdentityPolicies(
        [notThese],
        thread('dynamodb:PutItem', ['UserName', 'Message', 'PostDateTime']),
      ),
      evaluateIdentityPolicies([notThese], thread('dynamodb:PutItem', ['UserName'])),
      evaluateIdentityPolicies([notThese], thread('dynamodb:PutItem')),
    ];
    // Assess
    expect(decisions).toEqual(['explicit-deny', 'allow', 'allow']);
  });

  it('ForAnyValue:StringLike on kms:ResourceAliases grants tenant keys only (our CDK shape)', () => {
    // Prepare: the statement gateway-function.ts grants; kms:ResourceAliases as in "Using aliases to control
    // access to KMS keys" ("a condition of the resource, not the request").
    const tenantKeys = policy({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: `arn:aws:kms:*:${ACCOUNT}:key/*`,
      Condition: { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/sms-gateway/tenant/*' } },
    });
    const decrypt = (aliases?: string[]) =>
      evaluateIdentityPolicies(
        [tenantKeys],
        request({ action: 'kms:Decrypt', resource: KEY, context: { 'kms:ResourceAliases': aliases } }),
      );
    // Act
    const decisions = [
      decrypt(['alias/other', 'alias/sms-gateway/tenant/acme']),
      decrypt(['alias/sms-gateway/global']),
      decrypt(),
    ];
    // Assess
    expect(decisions).toEqual(['allow', 'implicit-deny', 'implicit-deny']);
  });

  it('applies a plain operator to a multi-valued key as "any value" and its negation as "no value"', () => {
    // Prepare: undocumented (the guide requires a set operator); the choice is documented in policy.ts.
    const withOperator = (operator: string): PolicyStatement => ({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { [operator]: { 'kms:ResourceAliases': 'alias/a' } },
    });
    const context = { 'kms:ResourceAliases': ['alias/a', 'alias/b'] };
    // Act
    const equals = decide(withOperator('StringEquals'), { action: 'kms:Decrypt', resource: KEY, context });
    const notEquals = decide(withOperator('StringNotEquals'), {
      action: 'kms:Decrypt',
      resource: KEY,
      context,
    });
    // Assess
    expect([equals, notEquals]).toEqual(['allow', 'implicit-deny']);
  });
});

describe('policy variables', () => {
  it('substitutes a principal tag in a resource, and an absent one matches nothing', () => {
    // Prepare: IAM policy elements: Variables and tags, "Tags as policy variables".
    const statement: PolicyStatement = {
      Effect: 'Allow',
      Action: 'dynamodb:Query',
      Resource: `arn:aws:dynamodb:*:*:table/\${aws:PrincipalTag/team}-*`,
    };
    const query = (tags?: Record<string, string>) =>
      decide(statement, {
        action: 'dynamodb:Query',
        resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/yellow-messages`,
        principal: { arn: ROLE, account: ACCOUNT, ...(tags ? { tags } : {}) },
      });
    // Act
    const decisions = [query({ team: 'yellow' }), query({ team: 'blue' }), query()];
    // Assess
    expect(decisions).toEqual(['allow', 'implicit-deny', 'implicit-deny']);
  });

  it('uses a default value when the variable has none', () => {
    // Prepare: IAM policy elements: Variables and tags, "Specifying default values".
    const statement: PolicyStatement = {
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: "arn:aws:s3:::DOC-EXAMPLE-BUCKET-${aws:PrincipalTag/team, 'company-wide'}",
    };
    const get = (bucket: string, tags?: Record<string, string>) =>
      decide(statement, {
        action: 's3:GetObject',
        resource: `arn:aws:s3:::${bucket}`,
        principal: { arn: ROLE, account: ACCOUNT, ...(tags ? { tags } : {}) },
      });
    // Act
    const decisions = [
      get('DOC-EXAMPLE-BUCKET-yellow', { team: 'yellow' }),
      get('DOC-EXAMPLE-BUCKET-company-wide'),
      get('DOC-EXAMPLE-BUCKET-yellow'),
    ];
    // Assess
    expect(decisions).toEqual(['allow', 'allow', 'implicit-deny']);
  });

  it('lets a negated operator match a variable that has no value', () => {
    // Prepare: IAM policy elements: Variables and tags, "Policy variables with no value" (Team example).
    const statement: PolicyStatement = {
      Effect: 'Deny',
      Action: 's3:GetObject',
      Resource: '*',
      Condition: { StringNotEquals: { 's3:ExistingObjectTag/Team': '${aws:PrincipalTag/Team}' } },
    };
    const get = (tags?: Record<string, string>) =>
      decide(statement, {
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::example-bucket/a',
        principal: { arn: ROLE, account: ACCOUNT, ...(tags ? { tags } : {}) },
        context: { 's3:ExistingObjectTag/Team': 'red' },
      });
    // Act
    const decisions = [get({ Team: 'red' }), get({ Team: 'blue' }), get()];
    // Assess
    expect(decisions).toEqual(['implicit-deny', 'explicit-deny', 'explicit-deny']);
  });

  it('reads ${*} as a literal asterisk, and ${aws:PrincipalAccount} and ${aws:PrincipalArn} from the principal', () => {
    // Prepare: IAM policy elements: Variables and tags, "Special characters".
    const statement = (resource: string): PolicyStatement => ({
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: resource,
    });
    const get = (resource: string, object: string) =>
      decide(statement(resource), { action: 's3:GetObject', resource: `arn:aws:s3:::${object}` });
    // Act
    const decisions = [
      get('arn:aws:s3:::b/${*}', 'b/*'),
      get('arn:aws:s3:::b/${*}', 'b/anything'),
      get('arn:aws:s3:::b/${aws:PrincipalAccount}/*', `b/${ACCOUNT}/x`),
      get('arn:aws:s3:::b/${aws:principalarn}', `b/${ROLE}`),
    ];
    // Assess
    expect(decisions).toEqual(['allow', 'implicit-deny', 'allow', 'allow']);
  });

  it('treats variables as literal text in a policy without Version 2012-10-17', () => {
    // Prepare: IAM policy elements: Variables and tags ("variables ... are treated as literal strings").
    const old: PolicyDocument = {
      Statement: {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: 'arn:aws:s3:::b/${aws:PrincipalAccount}',
      },
    };
    const get = (object: string) =>
      evaluateIdentityPolicies(
        [old],
        request({ action: 's3:GetObject', resource: `arn:aws:s3:::${object}` }),
      );
    // Act
    const decisions = [get(`b/${ACCOUNT}`), get('b/${aws:PrincipalAccount}')];
    // Assess
    expect(decisions).toEqual(['implicit-deny', 'allow']);
  });
});

describe('resource policies and KMS', () => {
  const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
  // Our key policy: root may administer the key; data-key use is delegated to IAM but only for a role tagged as
  // the gateway and only within the tenant's encryption context.
  const keyPolicy = policy(
    {
      Sid: 'KeyAdministration',
      Effect: 'Allow',
      Principal: { AWS: ROOT },
      Action: ['kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:Put*', 'kms:ScheduleKeyDeletion'],
      Resource: '*',
    },
    {
      Sid: 'TenantDataKeys',
      Effect: 'Allow',
      Principal: { AWS: ROOT },
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: '*',
      Condition: {
        StringEquals: {
          'aws:PrincipalTag/sms-gateway-role': 'gateway',
          'kms:EncryptionContext:tenant': 'acme',
        },
      },
    },
  );
  const identity = [
    policy({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: KEY }),
  ];
  const gateway = { arn: ROLE, account: ACCOUNT, tags: { 'sms-gateway-role': 'gateway' } };
  const decrypt = (over: Partial<AuthzRequest> = {}) =>
    request({ action: 'kms:Decrypt', resource: KEY, principal: gateway, ...over });

  it('allows a tagged role in the tenant context when both key policy and IAM allow', () => {
    // Act
    const decision = authorizeKms(
      keyPolicy,
      identity,
      decrypt({ context: { 'kms:EncryptionContext:tenant': 'acme' } }),
    );
    // Assess
    expect(decision).toBe('allow');
  });

  it('denies another tenant context, an untagged role, and a role without IAM permission', () => {
    // Prepare
    const acme = { 'kms:EncryptionContext:tenant': 'acme' };
    // Act
    const decisions = [
      authorizeKms(keyPolicy, identity, decrypt({ context: { 'kms:EncryptionContext:tenant': 'globex' } })),
      authorizeKms(
        keyPolicy,
        identity,
        decrypt({ context: acme, principal: { arn: ROLE, account: ACCOUNT } }),
      ),
      authorizeKms(keyPolicy, [], decrypt({ context: acme })),
    ];
    // Assess
    expect(decisions).toEqual(['implicit-deny', 'implicit-deny', 'implicit-deny']);
  });

  it('ignores IAM policies when the key policy does not allow the account', () => {
    // Prepare: Troubleshooting key access, "Does the key policy ALLOW the caller's account to use IAM policies?"
    const adminOnly = policy({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/KeyAdmin` },
      Action: 'kms:*',
      Resource: '*',
    });
    const everything = [policy({ Effect: 'Allow', Action: 'kms:*', Resource: '*' })];
    // Act
    const decision = authorizeKms(adminOnly, everything, decrypt());
    // Assess
    expect(decision).toBe('implicit-deny');
  });

  it('allows a role the key policy names even without IAM permission, unless IAM denies', () => {
    // Prepare: Examining the key policy, policy statement 3 (role/EncryptionApp).
    const named = policy({ Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'kms:Decrypt', Resource: '*' });
    const deny = [policy({ Effect: 'Deny', Action: 'kms:*', Resource: '*' })];
    // Act
    const decisions = [authorizeKms(named, [], decrypt()), authorizeKms(named, deny, decrypt())];
    // Assess
    expect(decisions).toEqual(['allow', 'explicit-deny']);
  });

  it('classifies principals: account id or root is the account, * and the role (or its session) are the principal', () => {
    // Prepare: IAM JSON policy elements: Principal ("AWS account principals", "All principals").
    const allowTo = (Principal: PolicyStatement['Principal']) =>
      evaluateResourcePolicy(
        policy({ Effect: 'Allow', Principal, Action: 'kms:Decrypt', Resource: '*' }),
        decrypt(),
      );
    const session = `arn:aws:sts::${ACCOUNT}:assumed-role/sms-gateway-send-message/lambda-session`;
    const bySession = evaluateResourcePolicy(
      policy({ Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'kms:Decrypt', Resource: '*' }),
      decrypt({ principal: { arn: session, account: ACCOUNT } }),
    );
    // Act
    const results = [
      allowTo({ AWS: ACCOUNT }),
      allowTo({ AWS: ROOT }),
      allowTo('*'),
      allowTo({ AWS: '*' }),
      allowTo({ AWS: `arn:aws:iam::${ACCOUNT}:role/sms-gateway-*` }),
      allowTo({ Service: 'lambda.amazonaws.com' }),
      allowTo({ AWS: 'arn:aws:iam::111122223333:root' }),
      bySession,
    ].map((r) => [r.allowsPrincipal, r.allowsAccount]);
    // Assess
    expect(results).toEqual([
      [false, true],
      [false, true],
      [true, false],
      [true, false],
      [true, false],
      [false, false],
      [false, false],
      [true, false],
    ]);
  });

  it('reports an explicit Deny in the key policy, which wins in authorizeKms', () => {
    // Prepare
    const denying = policy(
      { Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'kms:*', Resource: '*' },
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:RequestedRegion': 'us-east-1' } },
      },
    );
    // Act
    const elsewhere = decrypt({ context: { 'aws:RequestedRegion': 'eu-west-1' } });
    const result = evaluateResourcePolicy(denying, elsewhere);
    const decisions = [
      authorizeKms(denying, identity, elsewhere),
      authorizeKms(denying, identity, decrypt()),
    ];
    // Assess
    expect(result.explicitDeny).toBe(true);
    expect(decisions).toEqual(['explicit-deny', 'explicit-deny']);
  });

  it('authorize: an SQS queue policy naming the role allows, one naming the account delegates to IAM', () => {
    // Prepare: Policy evaluation logic, "Evaluating identity-based policies with resource-based policies".
    const send = request({ action: 'sqs:SendMessage', resource: QUEUE });
    const toRole = policy({
      Effect: 'Allow',
      Principal: { AWS: ROLE },
      Action: 'sqs:SendMessage',
      Resource: QUEUE,
    });
    const toAccount = policy({
      Effect: 'Allow',
      Principal: { AWS: ROOT },
      Action: 'sqs:SendMessage',
      Resource: QUEUE,
    });
    const sendGrant = [policy({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE })];
    // Act
    const decisions = [
      authorize(sendGrant, send),
      authorize([], send),
      authorize([], send, toRole),
      authorize([], send, toAccount),
      authorize(sendGrant, send, toAccount),
    ];
    // Assess
    expect(decisions).toEqual(['allow', 'implicit-deny', 'allow', 'implicit-deny', 'allow']);
  });

  it('applies a Deny with NotPrincipal to every principal except those listed', () => {
    // Prepare: IAM JSON policy elements: NotPrincipal ("NotPrincipal with Deny").
    const send = (arn: string) =>
      request({ action: 'sqs:SendMessage', resource: QUEUE, principal: { arn, account: ACCOUNT } });
    const onlyRole = policy({
      Effect: 'Deny',
      NotPrincipal: { AWS: ROLE },
      Action: 'sqs:*',
      Resource: QUEUE,
    });
    const sendGrant = [policy({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE })];
    // Act
    const decisions = [
      authorize(sendGrant, send(ROLE), onlyRole),
      authorize(sendGrant, send(`arn:aws:iam::${ACCOUNT}:role/other`), onlyRole),
    ];
    // Assess
    expect(decisions).toEqual(['allow', 'explicit-deny']);
  });

  it('authorize: an explicit Deny in the resource policy wins over an identity Allow', () => {
    // Prepare
    const send = request({ action: 'sqs:SendMessage', resource: QUEUE });
    const deny = policy({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:*', Resource: QUEUE });
    const sendGrant = [policy({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE })];
    // Act
    const decision = authorize(sendGrant, send, deny);
    // Assess
    expect(decision).toBe('explicit-deny');
  });
});
