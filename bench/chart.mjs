// The benchmark chart: median time per shape and implementation, log scale,
// one panel per pass, as a standalone SVG (no dependencies).

const COLORS = ['#1b9e77', '#66a61e', '#a6d854', '#7570b3', '#e7298a', '#d95f02', '#e6ab02', '#a6761d', '#666666', '#1f78b4', '#b2df8a'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function chartSvg(report) {
  const passes = [...new Set(report.results.map((r) => r.pass))];
  const shapes = [...new Set(report.results.map((r) => r.shape))];
  const impls = [...new Set(report.results.map((r) => r.impl))];
  const color = new Map(impls.map((n, i) => [n, COLORS[i % COLORS.length]]));
  const bar = 7;
  const groupH = impls.length * bar + 10;
  const labelW = 250;
  const plotW = 560;
  const panelW = labelW + plotW + 20;
  const top = 60;
  const panelH = shapes.length * groupH + 40;
  const legendH = impls.length * 16 + 20;
  const width = panelW * passes.length + 20;
  const height = top + panelH + legendH;
  const times = report.results.map((r) => r.medianMs).filter((t) => t > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...times)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...times)));
  const xOf = (t) => (Math.log10(t / lo) / Math.log10(hi / lo)) * plotW;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  const m = report.machine;
  out.push(`<text x="10" y="20" font-size="14" font-weight="bold">instance norm: median time per call (log scale, shorter is better)</text>`);
  out.push(`<text x="10" y="38">${esc(`${m.cpu}, ${m.cores} cores, Node ${m.node}, ${report.date.slice(0, 10)}${report.quick ? ', quick run' : ''}`)}</text>`);
  passes.forEach((pass, pi) => {
    const x0 = 10 + pi * panelW;
    out.push(`<text x="${x0}" y="${top - 5}" font-size="13" font-weight="bold">${esc(pass)}</text>`);
    for (let d = lo; d <= hi; d *= 10) {
      const x = x0 + labelW + xOf(d);
      out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + shapes.length * groupH}" stroke="#ddd"/>`);
      const label = d < 1 ? `${+(d * 1000).toPrecision(3)} us` : d < 1000 ? `${d} ms` : `${d / 1000} s`;
      out.push(`<text x="${x}" y="${top + shapes.length * groupH + 14}" text-anchor="middle" fill="#555">${label}</text>`);
    }
    shapes.forEach((shape, si) => {
      const y0 = top + si * groupH;
      const dims = report.results.find((r) => r.shape === shape).dims.join('x');
      out.push(`<text x="${x0 + labelW - 6}" y="${y0 + groupH / 2}" text-anchor="end">${esc(shape)}</text>`);
      out.push(`<text x="${x0 + labelW - 6}" y="${y0 + groupH / 2 + 12}" text-anchor="end" fill="#777">${esc(dims)}</text>`);
      impls.forEach((impl, ii) => {
        const r = report.results.find((q) => q.shape === shape && q.pass === pass && q.impl === impl);
        if (!r) return;
        const w = Math.max(1, xOf(r.medianMs));
        out.push(`<rect x="${x0 + labelW}" y="${y0 + ii * bar}" width="${w.toFixed(1)}" height="${bar - 1}" fill="${color.get(impl)}"><title>${esc(`${impl}: ${r.medianMs.toPrecision(3)} ms, ${r.xMemcpy.toFixed(2)}x memcpy`)}</title></rect>`);
      });
    });
  });
  const ly = top + panelH;
  impls.forEach((impl, i) => {
    out.push(`<rect x="10" y="${ly + i * 16}" width="12" height="10" fill="${color.get(impl)}"/>`);
    out.push(`<text x="28" y="${ly + i * 16 + 9}">${esc(impl)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
