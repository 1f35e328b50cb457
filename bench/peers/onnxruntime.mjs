// onnxruntime-node's InstanceNormalization (CPU execution provider), fed
// and read as Float32Arrays, as a Node user would call it. It has no
// training API here, so it has no backward row.
import { createRequire } from 'node:module';
import { instanceNormModel } from './onnx-model.mjs';

const require = createRequire(import.meta.url);

export async function onnxRows(inp, threadsList) {
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    return { skipped: `onnxruntime-node unavailable: ${e.message.split('\n')[0]}` };
  }
  const model = instanceNormModel(inp.shape, 1e-5);
  const rows = [];
  for (const threads of threadsList) {
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
      // Its worker threads otherwise spin after each run and steal the
      // cores from whatever row is timed next.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    const feeds = {
      x: new ort.Tensor('float32', inp.x, inp.shape),
      scale: new ort.Tensor('float32', inp.gamma, [inp.C]),
      B: new ort.Tensor('float32', inp.beta, [inp.C]),
    };
    rows.push({
      name: `onnxruntime-node ${threads}t`, group: 'peer', threads,
      forward: async () => { const r = await session.run(feeds); return r.y.data; },
      backward: null,
      check: async () => (await session.run(feeds)).y.data,
      dispose: () => session.release(),
    });
  }
  return { rows };
}
