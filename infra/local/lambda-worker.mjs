// The Lambda runtime interface of one local function instance, run in a worker thread whose
// process.env is exactly the function's environment. Plain JavaScript: the function's bundle
// (index.mjs from cdk.out) needs no TypeScript loader, and neither does this.
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

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
    parentPort.postMessage({ id, ok: true, result });
  } catch (error) {
    parentPort.postMessage({
      id,
      ok: false,
      error: { name: error?.name ?? 'Error', message: error?.message ?? String(error) },
      // Like a failed init in Lambda: the next invocation starts a fresh instance.
      initFailed,
    });
  }
});
