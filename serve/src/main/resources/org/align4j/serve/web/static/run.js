'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const { $, api, el, showError, param, time } = A4;
  if (!A4.requireKey()) return;
  const path = param('path') || '';
  $('title').textContent = 'Run ' + path;
  document.title = path + ' · align4j';
  let lastRows = -1;
  let lastEvents = -1;

  async function refresh() {
    try {
      const r = await api('/api/runs/run?path=' + encodeURIComponent(path));
      showError(null);
      const m = r.metrics || [];
      $('status').textContent = 'Status: ' + (r.status || '–') + ' · ' + m.length + ' logged steps' +
        (r.status === 'running' ? ' · updating every 3 s' : '');
      if (m.length !== lastRows) {
        lastRows = m.length;
        $('nocurves').hidden = m.length > 0;
        window.A4charts = A4Chart.draw($('charts'), m);
      }
      const ev = r.events || [];
      if (ev.length !== lastEvents) {
        lastEvents = ev.length;
        $('events').tBodies[0].replaceChildren(...ev.map(e => el('tr', {}, el('td', {}, time(e.time)),
          el('td', { class: 'status-' + e.status }, e.status), el('td', {}, e.message))));
        $('checkpoints').replaceChildren(...(r.checkpoints || []).map(c => el('li', {}, c)));
        if (!(r.checkpoints || []).length) $('checkpoints').append(el('li', { class: 'muted' }, 'none'));
        $('config').textContent = r.config ? JSON.stringify(r.config, null, 2) : (r.config_error || 'no config.json');
      }
      if (r.has_report) {
        $('reportlink').hidden = false;
        $('reportlink').firstElementChild.href = '/reports/view?path=' + encodeURIComponent(path);
      }
      if (r.status === 'running' || r.status === 'pending') setTimeout(refresh, 3000);
    } catch (e) { showError(e); }
  }
  refresh();
});
