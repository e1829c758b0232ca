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
  /** Instances running at once, each one invocation at a time (default DEFAULT_MAX_INSTANCES). */
  maxInstances?: number;
  /** Sees each HTTP call (AWS SDK calls included) the function's invocations make. */
  onCall?: (call: OutgoingCall) => void;
}

/** One HTTP call an invocation made, timed from request start to response (epoch milliseconds). */
export interface OutgoingCall {
  function: string;
  /** The invocation's request id (`invoke`'s `requestId`); undefined for a call made between invocations. */
  invocation: string | undefined;
  host: string;
  /** The AWS operation (`PutItem`, `SendMessage`...), or method and path for other calls. */
  operation: string;
  startedAt: number;
  endedAt: number;
}

/** What lambda-worker.mjs answers to a job: its result, or the error its handler (or init) threw. */
type WorkerReply = { id: string; initFailed?: boolean } & (
  | { ok: true; result: unknown }
  | { ok: false; error: { name: string; message: string } }
);

/** One call into an instance: an invocation or a look at its environment. */
type Job = {
  id: string;
  message: Record<string, unknown>;
  /** The function's timeout, counted from the moment an instance takes the job. */
  timeoutMs?: number;
  timer?: NodeJS.Timeout;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
};

/** One execution environment: a worker thread running at most one job at a time. */
type Instance = { worker: Worker; job?: Job };

/** Instances per function unless the spec says otherwise (Lambda's concurrency, kept small). */
export const DEFAULT_MAX_INSTANCES = 4;

/**
 * One AWS::Lambda::Function run from its esbuild bundle in worker threads, each with a
 * process.env of exactly `spec.env`. As in Lambda, an instance handles one invocation at a
 * time (so per-process state such as the logger's appended keys never mixes two requests): an
 * invocation takes an idle instance, or starts a new one (a cold start) when all are busy, up
 * to `spec.maxInstances`; beyond that it waits for a free instance, in arrival order. An
 * instance that crashes fails only its own invocation and is discarded, as is one whose
 * invocation timed out or whose init failed; the next invocation starts a fresh one.
 */
export class LocalFunction {
  private readonly instances = new Set<Instance>();
  private readonly waiting: Job[] = [];
  /** Cold starts so far (for tests and the bench). */
  coldStarts = 0;

  constructor(readonly spec: LocalFunctionSpec) {}

  private get maxInstances(): number {
    return Math.max(1, this.spec.maxInstances ?? DEFAULT_MAX_INSTANCES);
  }

  private start(): Instance {
    const [file, exportName] = splitHandler(this.spec.handler);
    const worker = new Worker(WORKER, {
      env: this.spec.env,
      // The bundle is plain JavaScript: no TypeScript loader from the parent.
      execArgv: [],
      workerData: {
        entry: join(this.spec.codeDir, `${file}.mjs`),
        exportName,
        traceCalls: this.spec.onCall !== undefined,
      },
      resourceLimits: { maxOldGenerationSizeMb: this.spec.memorySize },
    });
    worker.unref();
    this.coldStarts++;
    const instance: Instance = { worker };
    this.instances.add(instance);
    worker.on('message', (message: WorkerReply | ({ type: 'call' } & Omit<OutgoingCall, 'function'>)) => {
      if ('type' in message) {
        this.spec.onCall?.({ ...message, function: this.spec.name });
        return;
      }
      const job = instance.job;
      if (!job || message.id !== job.id) return;
      // Like a failed init in Lambda: the next invocation starts a fresh instance.
      this.release(instance, !message.initFailed);
      if (message.ok) job.resolve(message.result);
      else job.reject(new FunctionError(this.spec.name, message.error.name, message.error.message));
    });
    const crashed = (error: Error) => {
      if (!this.instances.has(instance)) return;
      const job = instance.job;
      this.release(instance, false);
      // Only the invocation this instance was running fails, as in Lambda.
      job?.reject(new FunctionError(this.spec.name, 'Runtime.ExitError', error.message));
    };
    worker.on('error', crashed);
    worker.on('exit', (code) => crashed(new Error(`RequestId: the function exited with status ${code}`)));
    return instance;
  }

  /** Gives `job` an idle instance, a new one within the cap, or a place in the queue. */
  private schedule(job: Job) {
    const instance = this.free();
    if (instance) this.assign(instance, job);
    else this.waiting.push(job);
  }

  private free(): Instance | undefined {
    for (const instance of this.instances) if (!instance.job) return instance;
    return this.instances.size < this.maxInstances ? this.start() : undefined;
  }

  private assign(instance: Instance, job: Job) {
    instance.job = job;
    if (job.timeoutMs !== undefined) {
      job.timer = setTimeout(() => {
        if (instance.job !== job) return;
        // Lambda ends an environment whose invocation timed out: its handler may still run.
        this.release(instance, false);
        job.reject(
          new FunctionError(
            this.spec.name,
            'Sandbox.Timedout',
            `Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`,
          ),
        );
      }, job.timeoutMs);
      job.timer.unref();
    }
    instance.worker.postMessage(job.message);
  }

  /** Ends the instance's job; keeps the instance for the next one or discards it. */
  private release(instance: Instance, keep: boolean) {
    if (instance.job?.timer) clearTimeout(instance.job.timer);
    instance.job = undefined;
    if (!keep) {
      this.instances.delete(instance);
      void instance.worker.terminate();
    }
    // Oldest first; free() may start an instance, so only while a job waits.
    for (let job = this.waiting[0]; job !== undefined; job = this.waiting[0]) {
      const next = this.free();
      if (!next) break;
      this.waiting.shift();
      this.assign(next, job);
    }
  }

  /** Invokes the handler with `event`, failing after the function's timeout like Lambda. */
  invoke<R>(event: unknown, options: { requestId?: string } = {}): Promise<R> {
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
      this.schedule({
        id,
        message: { id, event, context },
        timeoutMs,
        resolve: (v) => resolve(v as R),
        reject,
      });
    });
  }

  /** The environment an instance sees (starts one if none runs): for tests. */
  environment(): Promise<Record<string, string>> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      this.schedule({
        id,
        message: { type: 'env', id },
        resolve: (v) => resolve(v as Record<string, string>),
        reject,
      });
    });
  }

  async stop(): Promise<void> {
    const stopped = () => new FunctionError(this.spec.name, 'Runtime.Stopped', 'the local runtime stopped');
    for (const job of this.waiting.splice(0)) job.reject(stopped());
    const instances = [...this.instances];
    this.instances.clear();
    for (const instance of instances) {
      const job = instance.job;
      if (job?.timer) clearTimeout(job.timer);
      instance.job = undefined;
      job?.reject(stopped());
    }
    await Promise.all(instances.map((instance) => instance.worker.terminate()));
  }
}

function splitHandler(handler: string): [string, string] {
  const at = handler.lastIndexOf('.');
  return [handler.slice(0, at), handler.slice(at + 1)];
}
