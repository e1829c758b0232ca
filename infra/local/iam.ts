import type { LOCAL_CREDENTIALS } from './services.ts';

/** An IAM policy document, as a template's AWS::IAM::Policy holds it once resolved. */
export interface PolicyDocument {
  Version?: string;
  Statement: unknown;
}

/** Who signed a request: a function's role, with its policies and tags. */
export interface RoleIdentity {
  accessKeyId: string;
  roleArn: string;
  roleName: string;
  policies: PolicyDocument[];
  tags: Record<string, string>;
}

export interface IamDenial {
  service: string;
  action: string;
  resource: string;
  roleName?: string;
  [k: string]: unknown;
}

/** The interface of `infra/local/iam/proxy.ts` (branch h/iam-proxy) the runtime is wired to. */
export interface IamProxy {
  endpoint: string;
  denials: IamDenial[];
  close(): Promise<void>;
}

export type StartIamProxy = (options: {
  service: 'dynamodb' | 'sqs' | 'kms';
  target: string;
  account: string;
  identityOf: (accessKeyId: string) => RoleIdentity | undefined;
  upstreamCredentials: typeof LOCAL_CREDENTIALS;
  exempt?: (request: { action: string; resource: string }) => boolean;
  authorizationLagMs?: number;
  onDenied?: (denial: IamDenial) => void;
}) => IamProxy | Promise<IamProxy>;

/** The IAM proxy's start function, or undefined while its module is not in this checkout. */
export async function loadIamProxy(): Promise<StartIamProxy | undefined> {
  // A variable specifier: the module may not exist yet (it lands from another branch).
  const specifier = './iam/proxy.ts';
  try {
    const module = (await import(specifier)) as { startIamProxy?: StartIamProxy };
    return module.startIamProxy;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}
