// The Lambda runtime's part, for the rehearsal: loads the synthesised bundle (cdk.out/asset.*/index.mjs)
// in a process of its own whose environment is exactly the deployed function's (read from
// GetFunctionConfiguration) plus what the Lambda runtime adds, then runs invocations sent by the
// parent over IPC. Plain JavaScript, so the bundle runs as built, without tsx.
import { pathToFileURL } from 'node:url';

const entry = process.env.REHEARSAL_ENTRY;
const exportName = process.env.REHEARSAL_HANDLER_EXPORT;
const timeoutMs = Number(process.env.REHEARSAL_TIMEOUT_MS);
delete process.env.REHEARSAL_ENTRY;
delete process.env.REHEARSAL_HANDLER_EXPORT;
delete process.env.REHEARSAL_TIMEOUT_MS;

let handler;
try {
  const module = await import(pathToFileURL(entry).href);
  handler = module[exportName];
  if (typeof handler !== 'function') throw new Error(`${entry} exports no function ${exportName}`);
  process.send({ type: 'ready' });
} catch (err) {
  process.send({ type: 'load-error', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  process.disconnect();
}

let invocations = 0;
process.on('message', (message) => {
  if (message.type !== 'invoke') return;
  const deadline = Date.now() + timeoutMs;
  const context = {
    awsRequestId: `rehearsal-${process.pid}-${++invocations}`,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  Promise.resolve()
    .then(() => handler(message.event, context))
    .then(
      (response) => process.send({ type: 'result', id: message.id, response }),
      (err) => process.send({ type: 'error', id: message.id, message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
    );
});
