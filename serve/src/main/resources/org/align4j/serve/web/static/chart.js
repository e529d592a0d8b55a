'use strict';
/* Training curves with uPlot: one chart per group of metrics (loss with val_loss, rewards/*, objective/*, ...). */
const A4Chart = (() => {
  const SKIP = new Set(['step', 'epoch', 'time', 'timestamp', 'elapsed_s', 'created_at', 'total_steps']);
  const COLORS = ['#2456c9', '#d9480f', '#2b8a3e', '#862e9c', '#c92a2a', '#0b7285', '#5f3dc4', '#e67700'];

  function group(key) {
    const k = key.startsWith('val_') ? key.slice(4) : key.startsWith('valid_') ? key.slice(6) : key.startsWith('train_') ? key.slice(6) : key;
    const slash = k.indexOf('/');
    return slash > 0 ? k.slice(0, slash) : k;
  }

  /** rows: objects with a step (x) and numeric metrics. Returns {title: [keys]} in first-seen order. */
  function groups(rows) {
    const out = new Map();
    for (const r of rows) {
      for (const [k, v] of Object.entries(r)) {
        if (SKIP.has(k) || typeof v !== 'number') continue;
        const g = group(k);
        if (!out.has(g)) out.set(g, []);
        if (!out.get(g).includes(k)) out.get(g).push(k);
      }
    }
    return out;
  }

  /** Draws every group into `container`, replacing what was there; returns the uPlot instances. */
  function draw(container, rows, xKey = 'step') {
    container.replaceChildren();
    const made = [];
    const xs = rows.map((r, i) => typeof r[xKey] === 'number' ? r[xKey] : i);
    const width = Math.max(320, Math.min(container.clientWidth || 600, 1200) / (container.clientWidth > 1100 ? 2 : 1) - 28);
    for (const [title, keys] of groups(rows)) {
      const box = A4.el('div', { class: 'chart', dataset: { group: title } }, A4.el('h3', {}, title));
      container.append(box);
      const data = [xs].concat(keys.map(k => rows.map(r => typeof r[k] === 'number' && isFinite(r[k]) ? r[k] : null)));
      const opts = {
        width, height: 220,
        scales: { x: { time: false } },
        axes: [{ label: xKey }, { size: 64, values: (u, vals) => vals.map(v => v == null ? '' : String(Number(v.toPrecision(3)))) }],
        series: [{ label: xKey }].concat(keys.map((k, i) => ({ label: k, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true,
          points: { show: rows.length < 40 } }))),
      };
      made.push(new uPlot(opts, data, box));
    }
    return made;
  }

  return { draw, groups };
})();
