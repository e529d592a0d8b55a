'use strict';
/* One annotator ranking one task at a time. The ranking is a full order of the displayed candidates
   (positions 0..K-1) with the first `ranked` of them placed by the annotator, and ties marked on the
   candidate tied with the one above it. Everything goes through /api/label. */
document.addEventListener('DOMContentLoaded', () => {
  const { $, api, el, showError, param } = A4;
  if (!A4.requireKey()) return;
  const set = decodeURIComponent(location.pathname.split('/').pop());
  const annotator = (param('annotator') || localStorage.getItem('align4j.annotator') || '').trim();
  const base = '/api/label/tasksets/' + encodeURIComponent(set);
  $('title').textContent = 'Labeling: ' + set;
  if (!annotator) { location.href = '/label'; return; }
  $('who').textContent = 'Annotator: ' + annotator;

  let task = null;
  let order = [];          // displayed positions, best first
  let ranked = 0;          // how many of `order` the annotator has placed
  let tied = new Set();    // positions tied with the one above them
  let flags = {};          // position -> Set of flags
  let tieNext = false;
  let busy = false;

  function groups() {
    const g = [];
    order.slice(0, ranked).forEach((p, i) => {
      if (i > 0 && tied.has(p)) g[g.length - 1].push(p); else g.push([p]);
    });
    return g;
  }

  function notice(text) {
    const n = $('notice');
    n.textContent = text;
    n.hidden = !text;
  }

  function render() {
    const k = task.candidates.length;
    const list = $('cands');
    list.replaceChildren();
    order.forEach((p, i) => {
      const isRanked = i < ranked;
      const isTied = isRanked && i > 0 && tied.has(p);
      const rankNo = isRanked ? groups().findIndex(g => g.includes(p)) + 1 : null;
      const fl = flags[p] || new Set();
      const flagBox = (value, label) => el('label', {}, el('input', { type: 'checkbox', class: 'flag', value,
        checked: fl.has(value), onchange: (e) => { (flags[p] = flags[p] || new Set())[e.target.checked ? 'add' : 'delete'](value); } }), label);
      list.append(el('li', { class: 'cand' + (isRanked ? ' ranked' : '') + (isTied ? ' tied' : ''), dataset: { pos: p },
        'aria-label': 'Candidate ' + (p + 1) + (isRanked ? ', rank ' + rankNo : ', not ranked') },
        el('div', { class: 'cand-head' },
          el('span', { class: 'handle', title: 'Drag to reorder', 'aria-hidden': 'true' }, '\u283F'),
          el('span', { class: 'num' }, String(p + 1)),
          el('span', { class: 'rank' }, isRanked ? 'rank ' + rankNo + (isTied ? ' (tie)' : '') : 'not ranked'),
          (isRanked && i > 0) ? el('label', {}, el('input', { type: 'checkbox', class: 'tie', checked: isTied,
            onchange: (e) => { e.target.checked ? tied.add(p) : tied.delete(p); render(); } }), 'tied with the one above') : null,
          el('span', { class: 'flags' }, flagBox('unsafe', 'unsafe'), flagBox('off_topic', 'off-topic'))),
        el('div', { class: 'cand-text' }, task.candidates[p])));
    });
    const g = groups();
    $('summary').textContent = g.map(x => x.map(p => p + 1).join(' = ')).join(' > ') +
      (ranked < k ? (ranked ? ' > ' : '') + '… (' + (k - ranked) + ' not ranked yet)' : '');
    $('tiepending').hidden = !tieNext;
    $('submit').disabled = busy || ranked < k;
  }

  function show(res) {
    busy = false;
    const p = res.progress || {};
    $('progress').textContent = (p.judged ?? 0) + ' of ' + (p.total ?? '?') + ' judged';
    task = res.task;
    $('task').hidden = !task;
    $('done').hidden = !res.done;
    if (!task) return;
    order = task.candidates.map((_, i) => i);
    ranked = 0; tied = new Set(); flags = {}; tieNext = false;
    $('prompt').textContent = task.prompt;
    $('rationale').value = '';
    $('taskflag').value = '';
    render();
    window.scrollTo(0, 0);
  }

  async function call(promise, after) {
    busy = true;
    if (task) render();
    showError(null);
    try {
      const res = await promise;
      if (after) after(res);
      show(res.task !== undefined ? res : await api(base + '/next?annotator=' + encodeURIComponent(annotator)));
    } catch (e) {
      busy = false;
      if (e.status === 409 && e.param === 'task_id') { // judged meanwhile in another tab of the same name
        notice(e.message);
        load();
        return;
      }
      if (task) render();
      showError(e);
    }
  }

  function load() {
    call(api(base + '/next?annotator=' + encodeURIComponent(annotator)));
  }

  function place(p) {
    const k = task.candidates.length;
    if (p < 0 || p >= k) return;
    const at = order.indexOf(p);
    if (at < ranked) { notice('Candidate ' + (p + 1) + ' is ranked already (Backspace takes back the last).'); return; }
    notice('');
    order.splice(at, 1);
    order.splice(ranked, 0, p);
    if (tieNext && ranked > 0) tied.add(p); else tied.delete(p);
    tieNext = false;
    ranked++;
    if (ranked === k - 1) { tied.delete(order[k - 1]); ranked = k; }
    render();
  }

  function takeBack() {
    if (ranked === 0) return;
    if (ranked === task.candidates.length && ranked > 1) ranked--; // the last one was placed for you
    ranked--;
    tied.delete(order[ranked]);
    render();
  }

  function submit() {
    if (!task || busy || ranked < task.candidates.length) return;
    const cf = {};
    for (const [p, s] of Object.entries(flags)) if (s.size) cf[p] = [...s];
    const body = { annotator, task_id: task.id, ranking: groups(), candidate_flags: cf, rationale: $('rationale').value };
    call(api(base + '/judgments', { json: body }), () => notice('Saved.'));
  }

  function flagTask() {
    const reason = $('taskflag').value;
    if (!reason) { showError(new Error('Choose why the task is flagged.')); $('taskflag').focus(); return; }
    call(api(base + '/judgments', { json: { annotator, task_id: task.id, flag: reason, rationale: $('rationale').value } }),
      () => notice('Task flagged.'));
  }

  const skip = () => task && !busy && call(api(base + '/skip', { json: { annotator, task_id: task.id } }), () => notice('Skipped: it comes back at the end.'));
  const undo = () => !busy && call(api(base + '/undo', { json: { annotator } }), () => notice('Your last judgment was undone.'));

  $('submit').addEventListener('click', submit);
  $('reset').addEventListener('click', () => { ranked = 0; tied = new Set(); tieNext = false; render(); });
  $('skip').addEventListener('click', skip);
  $('undo').addEventListener('click', undo);
  $('undo2').addEventListener('click', undo);
  $('flag').addEventListener('click', flagTask);
  $('stop').addEventListener('click', async () => {
    try { await api(base + '/release', { json: { annotator } }); } catch (e) { /* going anyway */ }
    location.href = '/label';
  });

  document.addEventListener('keydown', (e) => {
    const t = e.target;
    const typing = t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || (t.tagName === 'INPUT' && t.type !== 'checkbox');
    if (t.tagName === 'TEXTAREA' && e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit(); return; }
    if (typing || e.altKey || e.ctrlKey || e.metaKey || !task || $('task').hidden) return;
    if (/^Digit[1-9]$/.test(e.code) || /^Numpad[1-9]$/.test(e.code)) { e.preventDefault(); place(Number(e.code.slice(-1)) - 1); }
    else if (e.key === '=') { e.preventDefault(); tieNext = ranked > 0; render(); }
    else if (e.key === 'Backspace') { e.preventDefault(); takeBack(); }
    else if (e.key === 'Enter' && t.tagName !== 'BUTTON' && t.tagName !== 'A') { e.preventDefault(); submit(); }
    else if (e.key === 's') { e.preventDefault(); skip(); }
    else if (e.key === 'u') { e.preventDefault(); undo(); }
  });

  // drag with pointer events (mouse, pen and touch alike): the card follows the pointer among the others
  let dragging = null;
  $('cands').addEventListener('pointerdown', (e) => {
    const h = e.target.closest('.handle');
    if (!h || busy) return;
    e.preventDefault();
    dragging = h.closest('.cand');
    dragging.classList.add('dragging');
    h.setPointerCapture(e.pointerId);
  });
  $('cands').addEventListener('pointermove', (e) => {
    if (!dragging) return;
    const others = [...$('cands').children].filter(c => c !== dragging);
    const before = others.find(c => { const r = c.getBoundingClientRect(); return e.clientY < r.top + r.height / 2; });
    $('cands').insertBefore(dragging, before || null);
  });
  const drop = () => {
    if (!dragging) return;
    dragging.classList.remove('dragging');
    order = [...$('cands').children].map(c => Number(c.dataset.pos));
    dragging = null;
    ranked = order.length; // an arranged list is a full ranking
    tieNext = false;
    render();
  };
  $('cands').addEventListener('pointerup', drop);
  $('cands').addEventListener('pointercancel', drop);

  load();
});
