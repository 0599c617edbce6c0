// The status page's Azure AD section: each instance's last known state, from the
// integration API's /status.
"use strict";

(() => {
  const section = document.getElementById("entra-status");
  if (!section || !window.scimhub) return;
  const { api, el } = window.scimhub;
  const state = section.querySelector("[data-state]");
  const table = section.querySelector("table");

  async function load() {
    let status;
    try {
      status = await api("GET", `${section.dataset.api}/status`);
    } catch (err) {
      if (!(err instanceof window.scimhub.ApiError)) throw err;
      state.replaceChildren(el("span", { class: "badge badge-error" }, "Integration error"),
        ` HTTP ${err.failure.status} · TrackingID ${err.failure.trackingId}`);
      return;
    }
    const instances = status.instances || [];
    if (!status.configured || instances.length === 0) {
      state.textContent = status.configured ? "Connected; no provisioning instance yet." : "Azure AD is not set up.";
      return;
    }
    state.hidden = true;
    table.hidden = false;
    table.tBodies[0].replaceChildren(...instances.map((i) => {
      const run = i.lastExecution;
      const q = i.quarantine;
      return el("tr", {},
        el("td", {}, i.name),
        el("td", {}, i.tenantDomain || i.tenantId || ""),
        el("td", {}, el("span", { class: `badge status-${i.jobStatus}` }, i.jobStatus)),
        el("td", {}, run ? `${run.state || ""} ${run.timeEnded || run.timeBegan || ""}` : "Never"),
        el("td", {}, q ? `${q.reason || ""} (since ${q.currentBegan || "?"}, next ${q.nextAttempt || "?"})` : ""));
    }));
  }
  load();
})();
