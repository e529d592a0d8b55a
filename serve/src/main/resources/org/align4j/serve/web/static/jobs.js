'use strict';
/* The jobs list, from OpenAI's GET /v1/fine_tuning/jobs; every field may be missing. */
document.addEventListener('DOMContentLoaded', () => {
  const { $, api, el, showError, time } = A4;
  if (!A4.requireKey()) return;
  const ACTIVE = new Set(['validating_files', 'queued', 'running', 'pausing', 'paused']);

  function progress(j) {
    if (j.status === 'succeeded') return 'done' + (j.trained_tokens ? ' · ' + j.trained_tokens + ' tokens' : '');
    if (j.status === 'running' && j.estimated_finish) return 'ETA ' + time(j.estimated_finish);
    return j.status === 'failed' && j.error && j.error.message ? j.error.message : '–';
  }

  async function load() {
    try {
      const res = await api('/v1/fine_tuning/jobs?limit=100');
      const jobs = (res && res.data) || [];
      $('nojobs').hidden = jobs.length > 0;
      $('jobs').tBodies[0].replaceChildren(...jobs.map(j => el('tr', {},
        el('td', {}, el('a', { href: '/jobs/' + encodeURIComponent(j.id) }, j.id)),
        el('td', { class: 'status-' + j.status }, j.status || '–'),
        el('td', {}, (j.method && j.method.type) || 'supervised'),
        el('td', {}, j.model || '–'), el('td', {}, j.fine_tuned_model || '–'),
        el('td', {}, time(j.created_at)), el('td', {}, progress(j)))));
      showError(null);
      if (jobs.some(j => ACTIVE.has(j.status))) setTimeout(load, 3000);
    } catch (e) { showError(e); }
  }
  load();
});
