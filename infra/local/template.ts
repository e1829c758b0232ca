import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The account every local ARN names. */
export const LOCAL_ACCOUNT = '000000000000';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

export interface StackTemplate {
  name: string;
  region: string;
  /** The stack's assets manifest (function code by S3 key), when there is one. */
  assets?: { files?: Record<string, { source: { path: string } }> };
  template: CfnTemplate;
}

/** The CloudFormation stacks of a cloud assembly folder (cdk.out), with their regions. */
export function readAssembly(dir: string): StackTemplate[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; environment?: string; properties?: { templateFile?: string } }>;
  };
  const stacks: StackTemplate[] = [];
  for (const [name, artifact] of Object.entries(manifest.artifacts)) {
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const region = /^aws:\/\/[^/]+\/(.+)$/.exec(artifact.environment ?? '')?.[1];
    if (!region || region === 'unknown-region') throw new Error(`Stack ${name} names no region`);
    const template = JSON.parse(
      readFileSync(join(dir, artifact.properties.templateFile), 'utf8'),
    ) as CfnTemplate;
    const assetsFile = join(dir, `${name}.assets.json`);
    let assets: StackTemplate['assets'];
    try {
      assets = JSON.parse(readFileSync(assetsFile, 'utf8')) as StackTemplate['assets'];
    } catch {
      assets = undefined;
    }
    stacks.push({ name, region, template, ...(assets ? { assets } : {}) });
  }
  return stacks;
}

/** The construct path of a resource (`Stack/dispatch-messages/Function/Resource`), or its logical id. */
export function constructPath(stack: StackTemplate, logicalId: string): string {
  const path = stack.template.Resources[logicalId]?.Metadata?.['aws:cdk:path'];
  return typeof path === 'string' ? path : `${stack.name}/${logicalId}`;
}

/** The physical value of a resource's Ref or one of its attributes, as it is locally. */
export type Physical = (
  stack: StackTemplate,
  logicalId: string,
  attribute: string | undefined,
) => string | undefined;

export class UnresolvableError extends Error {
  constructor(what: string) {
    super(`The local runtime cannot resolve ${what}`);
    this.name = 'UnresolvableError';
  }
}

/**
 * Resolves CloudFormation intrinsic functions (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select,
 * Fn::Split, Fn::ImportValue, Fn::If on no condition) to local values: pseudo parameters to
 * the local account and the stack's region, resources through `physical`, imports through the
 * exporting stack's Outputs. Every resolved string then passes through `rewrite`, which maps the
 * names and URLs that templates write literally (the other region's table and queues) to local ones.
 */
export class TemplateResolver {
  constructor(
    private readonly stacks: StackTemplate[],
    private readonly physical: Physical,
    private readonly rewrite: (value: string) => string = (v) => v,
  ) {}

  resolve(stack: StackTemplate, value: unknown): unknown {
    const out = this.raw(stack, value);
    return this.rewriteDeep(out);
  }

  /** Resolves to a string, or says which value could not be. */
  string(stack: StackTemplate, value: unknown, what: string): string {
    const out = this.resolve(stack, value);
    if (typeof out === 'string') return out;
    if (typeof out === 'number' || typeof out === 'boolean') return String(out);
    throw new UnresolvableError(`${what} in ${stack.name}: ${JSON.stringify(value)}`);
  }

  private rewriteDeep(value: unknown): unknown {
    if (typeof value === 'string') return this.rewrite(value);
    if (Array.isArray(value)) return value.map((v) => this.rewriteDeep(v));
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.rewriteDeep(v)]));
    return value;
  }

  private pseudo(stack: StackTemplate, name: string): string | undefined {
    switch (name) {
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT;
      case 'AWS::Region':
        return stack.region;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.name;
      case 'AWS::NoValue':
        return undefined;
      default:
        return undefined;
    }
  }

  private ref(stack: StackTemplate, name: string): string {
    if (name.startsWith('AWS::')) {
      const v = this.pseudo(stack, name);
      if (v === undefined) throw new UnresolvableError(`Ref ${name}`);
      return v;
    }
    const v = this.physical(stack, name, undefined);
    if (v === undefined) throw new UnresolvableError(`Ref ${name} in ${stack.name}`);
    return v;
  }

  private getAtt(stack: StackTemplate, logicalId: string, attribute: string): string {
    const v = this.physical(stack, logicalId, attribute);
    if (v === undefined) throw new UnresolvableError(`Fn::GetAtt ${logicalId}.${attribute} in ${stack.name}`);
    return v;
  }

  private importValue(name: string): unknown {
    for (const s of this.stacks) {
      for (const output of Object.values(s.template.Outputs ?? {})) {
        if (output.Export && this.raw(s, output.Export.Name) === name) return this.raw(s, output.Value);
      }
    }
    throw new UnresolvableError(`Fn::ImportValue ${name} (no stack exports it)`);
  }

  private raw(stack: StackTemplate, value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.raw(stack, v));
    if (!value || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [first, ...others] = entries;
    if (first && others.length === 0) {
      const [fn, arg] = first;
      switch (fn) {
        case 'Ref':
          return this.ref(stack, String(arg));
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? arg : String(arg).split(/\.(.+)/);
          return this.getAtt(stack, String(id), String(this.raw(stack, attr)));
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown];
          return (this.raw(stack, parts) as unknown[]).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (this.raw(stack, list) as unknown[])[Number(this.raw(stack, index))];
        }
        case 'Fn::Split': {
          const [sep, source] = arg as [string, unknown];
          return String(this.raw(stack, source)).split(sep);
        }
        case 'Fn::ImportValue':
          return this.importValue(String(this.raw(stack, arg)));
        case 'Fn::Sub': {
          const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
          return text.replace(/\$\{([^}]+)\}/g, (_whole, name: string) => {
            if (name.startsWith('!')) return `\${${name.slice(1)}}`;
            if (name in vars) return String(this.raw(stack, vars[name]));
            if (name.startsWith('AWS::')) return this.ref(stack, name);
            // `Logical.Attribute` is a GetAtt, a name without a dot a Ref.
            const [id = name, attr] = name.split(/\.(.+)/);
            return attr ? this.getAtt(stack, id, attr) : this.ref(stack, id);
          });
        }
        case 'Fn::GetAZs':
          return [`${stack.region}a`];
        default:
          if (fn.startsWith('Fn::')) throw new UnresolvableError(`${fn} in ${stack.name}`);
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.raw(stack, v)]));
  }
}
