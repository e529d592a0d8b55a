'use strict';
document.addEventListener('DOMContentLoaded', async () => {
  const { $, api, showError, param } = A4;
  if (!A4.requireKey()) return;
  const path = param('path') || '';
  $('title').textContent = 'Report ' + path;
  try {
    // the report is self-contained (images as data URIs, no script): shown in a sandbox, scripts off
    $('report').srcdoc = await api('/api/runs/report?path=' + encodeURIComponent(path));
  } catch (e) { showError(e); }
});
