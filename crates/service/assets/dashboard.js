// The dashboard: refreshes the queue and the workers every two seconds
// (keeping the filter shown), submits jobs, and cancels them.
(function () {
  var tokenQuery = document.body.dataset.tokenQuery || '';
  var message = document.getElementById('message');
  function apiToken() { return document.getElementById('apitoken').value; }
  function refresh() {
    var query = window.location.search ? window.location.search + '&' : '?';
    fetch('/' + query + 'fragment=1')
      .then(function (r) { return r.text(); })
      .then(function (t) { document.getElementById('tables').innerHTML = t; });
  }
  setInterval(refresh, 2000);
  document.getElementById('submit').onclick = function () {
    fetch('/api/jobs', {
      method: 'POST',
      headers: { 'Authorization': 'Bearer ' + apiToken() },
      body: document.getElementById('job').value
    })
      .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
      .then(function (a) {
        if (a[0] == 201) { window.location = a[1].url + tokenQuery; }
        else { message.textContent = a[1].error; }
      });
  };
  document.getElementById('tables').addEventListener('click', function (e) {
    var job = e.target.dataset && e.target.dataset.cancel;
    if (!job) { return; }
    if (!apiToken()) { message.textContent = 'give the API token below to cancel'; return; }
    fetch('/api/jobs/' + job + '/cancel', {
      method: 'POST',
      headers: { 'Authorization': 'Bearer ' + apiToken() }
    })
      .then(function (r) { return r.json(); })
      .then(function (j) { message.textContent = j.error || ('job ' + job + ': ' + j.state); refresh(); });
  });
})();
