'use strict';
/* Chat through OpenAI's POST /v1/chat/completions with stream=true and logprobs; one or two models,
   the same messages, temperature, max tokens and seed. Each streamed token is a span whose
   log-probability (and the alternatives) shows on hover or focus. */
document.addEventListener('DOMContentLoaded', async () => {
  const { $, api, el, showError } = A4;
  if (!A4.requireKey()) return;
  const histories = { A: [], B: [] };
  let controller = null;

  try {
    const models = await api('/v1/models');
    const ids = ((models && models.data) || []).map(m => m.id);
    for (const sel of [$('modelA'), $('modelB')]) sel.replaceChildren(...ids.map(i => el('option', { value: i }, i)));
    if (ids.length > 1) $('modelB').value = ids[1];
  } catch (e) { showError(e); }

  $('compare').addEventListener('change', () => {
    $('modelB').disabled = !$('compare').checked;
    $('paneB').hidden = !$('compare').checked;
  });
  $('clear').addEventListener('click', () => {
    histories.A = []; histories.B = [];
    $('paneA').replaceChildren(); $('paneB').replaceChildren();
  });
  $('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('chat').requestSubmit(); }
  });
  $('stopgen').addEventListener('click', () => controller && controller.abort());

  function tipText(lp) {
    const p = Math.exp(lp.logprob);
    let s = JSON.stringify(lp.token) + '  logprob ' + lp.logprob.toFixed(4) + '  p ' + p.toFixed(4);
    for (const alt of lp.top_logprobs || []) {
      s += '\n  ' + JSON.stringify(alt.token).padEnd(16) + ' ' + (typeof alt.logprob === 'number' ? alt.logprob.toFixed(4) : '');
    }
    return s;
  }

  const tip = $('tip');
  function showTip(e) {
    const t = e.target.closest('.tok');
    if (!t || !t.dataset.tip) { tip.hidden = true; return; }
    tip.textContent = t.dataset.tip;
    const r = t.getBoundingClientRect();
    tip.style.left = Math.min(r.left, window.innerWidth - 320) + 'px';
    tip.style.top = (r.bottom + 6) + 'px';
    tip.hidden = false;
  }
  for (const ev of ['mouseover', 'focusin']) document.addEventListener(ev, showTip);
  document.addEventListener('mouseout', (e) => { if (e.target.closest && e.target.closest('.tok')) tip.hidden = true; });

  async function stream(side, model, signal) {
    const pane = $('pane' + side);
    const msgs = [];
    if ($('system').value.trim()) msgs.push({ role: 'system', content: $('system').value.trim() });
    msgs.push(...histories[side]);
    const out = el('div', { class: 'msg assistant', 'data-model': model });
    pane.append(el('div', { class: 'muted' }, model), out);
    const body = { model, messages: msgs, stream: true, logprobs: true, top_logprobs: 5,
      temperature: Number($('temperature').value), max_tokens: Number($('max_tokens').value) };
    if ($('seed').value !== '') body.seed = Number($('seed').value);
    let text = '';
    let pending = [];
    try {
      const res = await api('/v1/chat/completions', { json: body, raw: true, signal });
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') continue;
          let chunk;
          try { chunk = JSON.parse(data); } catch (e) { continue; }
          if (chunk.error) throw new Error(chunk.error.message || 'error');
          const ch = (chunk.choices || [])[0];
          if (!ch) continue;
          const piece = (ch.delta && ch.delta.content) || '';
          if (ch.logprobs && Array.isArray(ch.logprobs.content)) pending.push(...ch.logprobs.content);
          // a chunk's text is what became certain: a token that is half a character (an emoji's first
          // bytes) or may start a stop string comes with empty text, and its log-probability joins the
          // span of the text it completes
          if (piece) {
            const attrs = { class: 'tok' };
            if (pending.length) {
              attrs.tabindex = '0';
              attrs['data-tip'] = pending.map(tipText).join('\n');
              attrs['data-logprob'] = pending.reduce((s, l) => s + l.logprob, 0);
            }
            out.append(el('span', attrs, piece));
            pending = [];
          }
          text += piece;
        }
      }
    } catch (e) {
      if (e.name !== 'AbortError') out.append(el('div', { class: 'error' }, e.message));
    }
    // an empty answer (the model ended at once) says so rather than leaving the pane blank
    if (!text && !out.querySelector('.error')) pane.append(el('div', { class: 'muted' }, '(no text: the model ended its answer at once)'));
    histories[side].push({ role: 'assistant', content: text });
  }

  $('chat').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const prompt = $('prompt').value.trim();
    if (!prompt || controller) return;
    showError(null);
    $('prompt').value = '';
    const sides = $('compare').checked ? ['A', 'B'] : ['A'];
    controller = new AbortController();
    $('send').disabled = true; $('stopgen').disabled = false;
    for (const s of sides) {
      histories[s].push({ role: 'user', content: prompt });
      $('pane' + s).append(el('div', { class: 'msg user' }, prompt));
    }
    await Promise.all(sides.map(s => stream(s, $('model' + s).value, controller.signal)));
    controller = null;
    $('send').disabled = false; $('stopgen').disabled = true;
    $('prompt').focus();
  });
});
