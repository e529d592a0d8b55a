'use strict';
/* Upload a training file (POST /v1/files), show what the server says about it, then create a job. */
document.addEventListener('DOMContentLoaded', async () => {
  const { $, api, el, showError } = A4;
  if (!A4.requireKey()) return;
  let report = null;
  /** The training tokens at the epochs chosen (the suggested ones when left on auto). */
  function estimate() {
    const per = report && report.billed_tokens_per_epoch;
    const epochs = $('n_epochs').value === '' ? report && report.suggested_epochs : Number($('n_epochs').value);
    $('estimate').textContent = per && epochs ? (per * epochs) + ' training tokens (' + per + ' per epoch x ' + epochs
      + ' epochs)' : '';
  }
  $('n_epochs').addEventListener('input', estimate);

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
      // a file that failed validation is shown, not offered for a job
      $('training_file').value = file.status === 'error' ? '' : (file.id || '');
      const r = file.align4j || {};
      report = r;
      const rows = [['File id', file.id], ['Name', file.filename], ['Bytes', file.bytes], ['Status', file.status],
        ['Record kind', r.record_kind], ['Records', r.records], ['Valid records', r.valid_records],
        ['Invalid records', r.invalid_records], ['Duplicates', r.duplicates], ['Suggested epochs', r.suggested_epochs],
        ['Billed tokens per epoch', r.billed_tokens_per_epoch],
        ['Estimated training tokens', r.estimated_training_tokens === undefined ? undefined
          : r.estimated_training_tokens + ' (' + r.suggested_epochs + ' epochs)'],
        ['Tokens counted with', r.estimate_model]];
      $('filefacts').replaceChildren(...rows.filter(r => r[1] !== undefined && r[1] !== null)
        .flatMap(([k, v]) => [el('dt', {}, k), el('dd', { dataset: { field: k } }, String(v))]));
      // the data module's FILE:LINE problems, one a line
      $('filedetails').textContent = file.status_details || '';
      $('filedetails').hidden = !file.status_details;
      estimate();
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
