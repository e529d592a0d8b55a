'use strict';
/* One job: OpenAI's job object, its events (metrics events drawn as curves) and checkpoints; polled while it runs. */
document.addEventListener('DOMContentLoaded', () => {
  const { $, api, el, showError, time, num } = A4;
  if (!A4.requireKey()) return;
  const id = decodeURIComponent(location.pathname.split('/').pop());
  const base = '/v1/fine_tuning/jobs/' + encodeURIComponent(id);
  const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
  $('title').textContent = 'Job ' + id;
  let shownMetrics = -1;

  function facts(j) {
    const hp = (j.method && j.method[j.method.type] && j.method[j.method.type].hyperparameters) || j.hyperparameters || {};
    const rows = [['Status', j.status], ['Method', (j.method && j.method.type) || 'supervised'], ['Base model', j.model],
      ['Fine-tuned model', j.fine_tuned_model], ['Training file', j.training_file], ['Validation file', j.validation_file],
      ['Hyperparameters', Object.entries(hp).map(([k, v]) => k + '=' + (v !== null && typeof v === 'object'
        ? JSON.stringify(v) : v)).join(', ')],
      ['Estimated training tokens', j.align4j ? j.align4j.estimated_training_tokens : null],
      ['Trained tokens', j.trained_tokens],
      ['Seed', j.seed], ['Created', time(j.created_at)], ['Finished', j.finished_at ? time(j.finished_at) : null],
      ['Estimated finish', j.estimated_finish ? time(j.estimated_finish) : null],
      ['Error', j.error && j.error.message ? j.error.message : null]];
    $('facts').replaceChildren(...rows.filter(r => r[1] !== undefined && r[1] !== null && r[1] !== '')
      .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
  }

  async function act(what) {
    try { await api(base + '/' + what, { method: 'POST' }); refresh(); } catch (e) { showError(e); }
  }
  $('cancel').addEventListener('click', () => act('cancel'));
  $('pause').addEventListener('click', () => act('pause'));
  $('resume').addEventListener('click', () => act('resume'));

  async function refresh() {
    let job;
    try {
      job = await api(base);
    } catch (e) { showError(e); return; }
    showError(null);
    facts(job);
    const s = job.status || '';
    $('status').textContent = 'Status: ' + (s || '–');
    $('status').className = 'status-' + s;
    $('cancel').hidden = FINAL.has(s);
    $('pause').hidden = s !== 'running';
    $('resume').hidden = s !== 'paused';
    try {
      const ev = await api(base + '/events?limit=1000');
      // the API lists newest first; many events share a second, so its order, reversed, is the true one
      const events = ((ev && ev.data) || []).slice().reverse();
      const metrics = events.filter(e => e.type === 'metrics' && e.data && typeof e.data === 'object').map(e => e.data)
        .sort((a, b) => (a.step || 0) - (b.step || 0));
      if (metrics.length !== shownMetrics) {
        shownMetrics = metrics.length;
        $('nocurves').hidden = metrics.length > 0;
        window.A4charts = A4Chart.draw($('charts'), metrics);
      }
      const last = metrics[metrics.length - 1];
      if (last && last.total_steps && !FINAL.has(s)) {
        $('status').textContent += ' · step ' + last.step + ' of ' + last.total_steps +
          (job.estimated_finish ? ' · ETA ' + time(job.estimated_finish) : '');
      }
      $('events').tBodies[0].replaceChildren(...events.slice().reverse().map(e => el('tr', {},
        el('td', {}, time(e.created_at)), el('td', {}, e.level || ''), el('td', {}, e.message || ''))));
    } catch (e) { showError(e); }
    try {
      const cp = await api(base + '/checkpoints?limit=100');
      $('checkpoints').tBodies[0].replaceChildren(...((cp && cp.data) || []).map(c => el('tr', {},
        el('td', {}, c.step_number ?? '–'), el('td', {}, c.fine_tuned_model_checkpoint || c.id || '–'),
        el('td', {}, Object.entries(c.metrics || {}).filter(([k]) => k !== 'step').map(([k, v]) => k + ' ' + num(v)).join(', ')))));
    } catch (e) { showError(e); }
    if (!FINAL.has(s)) setTimeout(refresh, 3000);
  }
  refresh();
});
