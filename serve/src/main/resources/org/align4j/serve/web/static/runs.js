'use strict';
document.addEventListener('DOMContentLoaded', async () => {
  const { $, api, el, showError, num, time } = A4;
  if (!A4.requireKey()) return;
  try {
    const res = await api('/api/runs');
    const runs = res.runs || [];
    const reports = res.reports || [];
    $('noruns').hidden = runs.length > 0;
    $('noreports').hidden = reports.length > 0;
    const body = $('runs').tBodies[0];
    for (const r of runs) {
      const last = r.last || {};
      body.append(el('tr', {},
        el('td', {}, el('a', { href: '/runs/view?path=' + encodeURIComponent(r.path) }, r.path)),
        el('td', { class: 'status-' + (r.status || 'none') }, r.status || '–'),
        el('td', {}, r.logged_steps ?? 0), el('td', {}, last.step ?? '–'), el('td', {}, num(last.loss)),
        el('td', {}, time(r.updated))));
    }
    for (const r of reports) {
      $('reports').append(el('li', {}, el('a', { href: '/reports/view?path=' + encodeURIComponent(r.path) }, r.path + '/report.html'),
        ' ', el('span', { class: 'muted' }, time(r.modified))));
    }
  } catch (e) { showError(e); }
});
