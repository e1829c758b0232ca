import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Context } from 'aws-lambda';

const WORKER = join(import.meta.dirname, 'lambda-worker.mjs');

/** A function's failure as Lambda reports it to its caller: the error's name and message. */
export class FunctionError extends Error {
  constructor(
    readonly functionName: string,
    name: string,
    message: string,
  ) {
    super(message);
    this.name = name;
  }
}

export interface LocalFunctionSpec {
  /** The function's name (its logical id's stack-qualified form locally). */
  name: string;
  region: string;
  /** The bundle's folder in the cloud assembly and its handler (`index.handler`). */
  codeDir: string;
  handler: string;
  timeoutSeconds: number;
  memorySize: number;
  /** The whole environment the function sees: template settings, Lambda's own, local emulation. */
  env: Record<string, string>;
}

type Pending = {
  worker: Worker;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
};

/**
 * One AWS::Lambda::Function run from its esbuild bundle in a worker thread of its own, whose
 * process.env is exactly `spec.env`. The worker starts on the first invocation (a cold start)
 * and stays warm. Unlike Lambda, concurrent invocations share that one instance (its module
 * scope, clients and caches): the local runtime runs one warm instance per function, which
 * keeps memory and start-up small; the functions keep no per-request state at module scope.
 */
export class LocalFunction {
  private worker: Worker | undefined;
  private readonly pending = new Map<string, Pending>();
  /** Cold starts so far (for tests and the bench). */
  coldStarts = 0;

  constructor(readonly spec: LocalFunctionSpec) {}

  private start(): Worker {
    const [file, exportName] = splitHandler(this.spec.handler);
    const worker = new Worker(WORKER, {
      env: this.spec.env,
      // The bundle is plain JavaScript: no TypeScript loader from the parent.
      execArgv: [],
      workerData: { entry: join(this.spec.codeDir, `${file}.mjs`), exportName },
      resourceLimits: { maxOldGenerationSizeMb: this.spec.memorySize },
    });
    worker.unref();
    this.coldStarts++;
    worker.on(
      'message',
      (message: {
        id?: string;
        type?: string;
        ok?: boolean;
        result?: unknown;
        error?: { name: string; message: string };
      }) => {
        if (message.type === 'init-failed') {
          this.discard(worker);
          return;
        }
        const p = message.id ? this.pending.get(message.id) : undefined;
        if (!p) return;
        this.pending.delete(message.id!);
        if (message.ok) p.resolve(message.result);
        else p.reject(new FunctionError(this.spec.name, message.error!.name, message.error!.message));
      },
    );
    const crashed = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      // Every invocation in flight in a crashed instance fails, as in Lambda.
      for (const [id, p] of this.pending) {
        if (p.worker !== worker) continue;
        p.reject(new FunctionError(this.spec.name, 'Runtime.ExitError', error.message));
        this.pending.delete(id);
      }
    };
    worker.on('error', crashed);
    worker.on('exit', (code) => crashed(new Error(`RequestId: the function exited with status ${code}`)));
    this.worker = worker;
    return worker;
  }

  /** Drops an instance; the next invocation starts a fresh one. */
  private discard(worker: Worker) {
    if (this.worker === worker) this.worker = undefined;
    void worker.terminate();
  }

  /** Invokes the handler with `event`, failing after the function's timeout like Lambda. */
  invoke<R>(event: unknown, options: { requestId?: string } = {}): Promise<R> {
    const worker = this.worker ?? this.start();
    const id = options.requestId ?? randomUUID();
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    const context: Omit<Context, 'getRemainingTimeInMillis' | 'done' | 'fail' | 'succeed'> & {
      remainingMs: number;
    } = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: this.spec.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${this.spec.region}:000000000000:function:${this.spec.name}`,
      memoryLimitInMB: String(this.spec.memorySize),
      awsRequestId: id,
      logGroupName: `/aws/lambda/${this.spec.name}`,
      logStreamName: 'local',
      remainingMs: timeoutMs,
    };
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        reject(
          new FunctionError(
            this.spec.name,
            'Sandbox.Timedout',
            `Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`,
          ),
        );
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, {
        worker,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as R);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      worker.postMessage({ id, event, context });
    });
  }

  /** The environment the running instance sees (starts one if none runs): for tests. */
  environment(): Promise<Record<string, string>> {
    const worker = this.worker ?? this.start();
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker, resolve: (v) => resolve(v as Record<string, string>), reject });
      worker.postMessage({ type: 'env', id });
    });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    for (const [id, p] of this.pending) {
      p.reject(new FunctionError(this.spec.name, 'Runtime.Stopped', 'the local runtime stopped'));
      this.pending.delete(id);
    }
    if (worker) await worker.terminate();
  }
}

function splitHandler(handler: string): [string, string] {
  const at = handler.lastIndexOf('.');
  return [handler.slice(0, at), handler.slice(at + 1)];
}
