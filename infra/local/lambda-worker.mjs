// The Lambda runtime interface of one local function instance, run in a worker thread whose
// process.env is exactly the function's environment. Plain JavaScript: the function's bundle
// (index.mjs from cdk.out) needs no TypeScript loader, and neither does this.
import { subscribe } from 'node:diagnostics_channel';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

/** The invocation running now (an instance runs one at a time), for the calls it makes. */
let running;

// Optional (the bench's round-trip count): each outgoing HTTP call the function makes (the AWS
// SDK's, through node:http), with its service operation and when it started and was answered,
// reported to the parent under the invocation that made it.
if (workerData.traceCalls) {
  const started = new WeakMap();
  const now = () => performance.timeOrigin + performance.now();
  subscribe('http.client.request.start', ({ request }) => {
    started.set(request, { at: now(), invocation: running });
  });
  subscribe('http.client.response.finish', ({ request }) => {
    const start = started.get(request);
    if (!start) return;
    const target = String(request.getHeader('x-amz-target') ?? '');
    parentPort.postMessage({
      type: 'call',
      invocation: start.invocation,
      host: String(request.getHeader('host') ?? request.host ?? ''),
      // JSON-protocol services name the operation in X-Amz-Target; STS (query protocol) does not.
      operation: target ? target.replace(/^.*\./, '') : `${request.method} ${request.path}`,
      startedAt: start.at,
      endedAt: now(),
    });
  });
}

/** @type {Promise<Function> | undefined} */
let handler;

const load = () => {
  handler ??= import(pathToFileURL(workerData.entry).href).then((module) => {
    const h = module[workerData.exportName];
    if (typeof h !== 'function') {
      const error = new Error(`${workerData.exportName} is not a function exported by ${workerData.entry}`);
      error.name = 'Runtime.HandlerNotFound';
      throw error;
    }
    return h;
  });
  return handler;
};

parentPort.on('message', async (message) => {
  if (message.type === 'env') {
    parentPort.postMessage({ id: message.id, ok: true, result: { ...process.env } });
    return;
  }
  const { id, event, context } = message;
  let initFailed = false;
  running = id;
  try {
    const h = await load().catch((error) => {
      initFailed = true;
      throw error;
    });
    const deadline = Date.now() + context.remainingMs;
    const result = await h(event, {
      ...context,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    });
    running = undefined;
    parentPort.postMessage({ id, ok: true, result });
  } catch (error) {
    running = undefined;
    parentPort.postMessage({
      id,
      ok: false,
      error: { name: error?.name ?? 'Error', message: error?.message ?? String(error) },
      // Like a failed init in Lambda: the next invocation starts a fresh instance.
      initFailed,
    });
  }
});
