'use strict';
document.addEventListener('DOMContentLoaded', async () => {
  const { $, api, el, showError, num } = A4;
  if (!A4.requireKey()) return;
  const who = $('annotator');
  who.value = localStorage.getItem('align4j.annotator') || '';
  who.addEventListener('input', () => localStorage.setItem('align4j.annotator', who.value.trim()));

  function start(name) {
    const a = who.value.trim();
    if (!a) { showError(new Error('Enter your name first: it is stored with each judgment.')); who.focus(); return; }
    localStorage.setItem('align4j.annotator', a);
    location.href = '/label/' + encodeURIComponent(name) + '?annotator=' + encodeURIComponent(a);
  }

  async function agreement(name) {
    const box = $('agreement');
    box.replaceChildren(el('p', {}, 'Computing agreement…'));
    box.hidden = false;
    try {
      const r = await api('/api/label/tasksets/' + encodeURIComponent(name) + '/agreement');
      const pct = (v) => typeof v === 'number' && isFinite(v) ? (100 * v).toFixed(1) + '%' : '–';
      const rows = (r.pairs || []).map(p => el('tr', {}, el('td', {}, p.a + ' ~ ' + p.b), el('td', {}, p.items),
        el('td', {}, pct(p.agreement)), el('td', {}, num(p.cohens_kappa, 3))));
      const people = Object.keys(Object.assign({}, r.judged_by, r.agreement_with_majority, r.gold_accuracy)).sort();
      box.replaceChildren(
        el('h2', {}, 'Agreement on ' + name),
        el('p', {}, 'Tasks judged by two or more: ' + r.tasks_with_several_annotators + ' · pairwise agreement ' +
          pct(r.pairwise_agreement) + ' (InstructGPT\u2019s labellers: 72.6\u201377.3%) · Krippendorff\u2019s alpha ' +
          num(r.krippendorff_alpha, 3)),
        el('table', { class: 'table' }, el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Pair'),
          el('th', { scope: 'col' }, 'Comparisons'), el('th', { scope: 'col' }, 'Agreement'), el('th', { scope: 'col' }, 'Cohen\u2019s kappa'))),
          el('tbody', {}, rows)),
        el('table', { class: 'table' }, el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Annotator'),
          el('th', { scope: 'col' }, 'Tasks judged'), el('th', { scope: 'col' }, 'With the majority'), el('th', { scope: 'col' }, 'On gold tasks'))),
          el('tbody', {}, people.map(a => el('tr', {}, el('td', {}, a), el('td', {}, (r.judged_by || {})[a] ?? 0),
            el('td', {}, pct((r.agreement_with_majority || {})[a])), el('td', {}, pct((r.gold_accuracy || {})[a])))))));
    } catch (e) { box.hidden = true; showError(e); }
  }

  try {
    const res = await api('/api/label/tasksets');
    const sets = res.data || [];
    $('empty').hidden = sets.length > 0;
    const body = $('sets').tBodies[0];
    for (const s of sets) {
      const by = Object.entries(s.judged_by || {}).map(([a, n]) => a + ' (' + n + ')').join(', ') || '–';
      body.append(el('tr', { dataset: { set: s.name } },
        el('th', { scope: 'row' }, s.name, s.error ? el('div', { class: 'error' }, s.error) : null),
        el('td', {}, s.tasks ?? '–'), el('td', {}, s.gold_tasks ?? '–'), el('td', {}, by),
        el('td', {}, s.error ? null : el('button', { type: 'button', class: 'primary start', onclick: () => start(s.name) }, 'Start labeling'),
          ' ', s.error ? null : el('button', { type: 'button', class: 'agree', onclick: () => agreement(s.name) }, 'Agreement'))));
    }
  } catch (e) { showError(e); }
});
