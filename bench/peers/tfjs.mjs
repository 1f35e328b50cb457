// TensorFlow.js (wasm and cpu backends): instance norm composed from
// tf.moments and elementwise ops (TF.js has no instance-norm op), and its
// gradient from tf.grads. Timed from Float32Array in to Float32Array out,
// tensor creation and read-back included, as a Node user would call it.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const MAX_CPU_BYTES = 16 * 2 ** 20;
let tf = null;
function load() {
  if (tf) return tf;
  // TF.js prints a banner about tfjs-node on first use of the cpu backend.
  const log = console.log;
  console.log = () => {};
  try {
    // The union package registers the gradients (tfjs-core alone does not)
    // and the cpu backend; the wasm backend registers itself with the same core.
    tf = require('@tensorflow/tfjs');
    require('@tensorflow/tfjs-backend-wasm');
  } finally {
    console.log = log;
  }
  return tf;
}

export async function tfjsRows(inp, backends) {
  try {
    load();
  } catch (e) {
    return { skipped: `TF.js unavailable: ${e.message.split('\n')[0]}` };
  }
  const { shape, C } = inp;
  const axes = shape.slice(2).map((_, i) => i + 2);
  const bshape = [1, C, ...shape.slice(2).map(() => 1)];
  const norm = (x, g, b) => {
    const { mean, variance } = tf.moments(x, axes, true);
    const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
    return tf.add(tf.mul(xhat, tf.reshape(g, bshape)), tf.reshape(b, bshape));
  };
  const grads = tf.grads(norm);
  const rows = [];
  for (const name of backends) {
    const select = async () => {
      const log = console.log;
      console.log = () => {};
      try {
        if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialize`);
        await tf.ready();
      } finally {
        console.log = log;
      }
    };
    try {
      await select();
    } catch (e) {
      rows.push({ skipped: `TF.js ${name}: ${e.message}` });
      continue;
    }
    // TF.js cpu takes seconds per call on 16 MiB: beyond that it would
    // dominate the run, so it is timed on the smaller shapes only.
    if (name === 'cpu' && inp.numel * 4 > MAX_CPU_BYTES) {
      rows.push({ skipped: `tfjs-cpu not timed above ${MAX_CPU_BYTES / 2 ** 20} MiB (seconds per call)` });
      continue;
    }
    rows.push({
      name: `tfjs-${name} (moments+affine)`, group: 'peer', threads: 1, select,
      forward: () => {
        const y = tf.tidy(() => norm(tf.tensor(inp.x, shape), tf.tensor(inp.gamma), tf.tensor(inp.beta)));
        const out = y.dataSync();
        y.dispose();
        return out;
      },
      backward: () => {
        const gs = tf.tidy(() => grads([tf.tensor(inp.x, shape), tf.tensor(inp.gamma), tf.tensor(inp.beta)], tf.tensor(inp.dy, shape)));
        const out = gs.map((g) => g.dataSync());
        gs.forEach((g) => g.dispose());
        return out;
      },
    });
  }
  return { rows: rows.filter((r) => !r.skipped), skipped: rows.filter((r) => r.skipped).map((r) => r.skipped).join('; ') || undefined };
}
