'use strict';
/* Upload a training file (POST /v1/files), show what the server says about it, then create a job. */
document.addEventListener('DOMContentLoaded', async () => {
  const { $, api, el, showError } = A4;
  if (!A4.requireKey()) return;
  const known = new Set(['id', 'object', 'filename', 'bytes', 'created_at', 'purpose', 'status', 'status_details']);

  try {
    const models = await api('/v1/models');
    $('model').replaceChildren(...((models && models.data) || []).map(m => el('option', { value: m.id }, m.id)));
  } catch (e) { showError(e); }

  $('upload').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = $('file').files[0];
    if (!f) return;
    const form = new FormData();
    form.append('purpose', 'fine-tune');
    form.append('file', f, f.name);
    showError(null);
    try {
      const file = await api('/v1/files', { method: 'POST', body: form });
      $('training_file').value = file.id || '';
      const rows = [['File id', file.id], ['Name', file.filename], ['Bytes', file.bytes], ['Status', file.status],
        ['Details', file.status_details]];
      $('filefacts').replaceChildren(...rows.filter(r => r[1] !== undefined && r[1] !== null)
        .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
      // anything else the server reports (validation report, token and cost estimate) is shown as it is
      const extra = Object.fromEntries(Object.entries(file).filter(([k]) => !known.has(k)));
      $('filedetails').textContent = JSON.stringify(extra, null, 2);
      $('filedetails').hidden = Object.keys(extra).length === 0;
      $('report').hidden = false;
    } catch (e) { showError(e); }
  });

  $('create').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = (id) => $(id).value === '' ? undefined : Number($(id).value);
    const type = $('method').value;
    const hp = { n_epochs: n('n_epochs'), batch_size: n('batch_size'), learning_rate_multiplier: n('lr') };
    if (type === 'dpo') hp.beta = n('beta');
    const body = { model: $('model').value, training_file: $('training_file').value.trim(),
      method: { type, [type]: { hyperparameters: hp } } };
    if ($('validation_file').value.trim()) body.validation_file = $('validation_file').value.trim();
    if ($('suffix').value.trim()) body.suffix = $('suffix').value.trim();
    if (n('seed') !== undefined) body.seed = n('seed');
    showError(null);
    try {
      const job = await api('/v1/fine_tuning/jobs', { json: body });
      location.href = '/jobs/' + encodeURIComponent(job.id);
    } catch (e) { showError(e); }
  });
});
