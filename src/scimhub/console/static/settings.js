// Organization Settings > Directory Synchronization: the Azure AD card, drawn from the
// integration API's /status document. Every action is a call to that API; the server
// enforces roles, the disabled controls only say so early. On a setup link's wizard
// (data-wizard) the card offers only what its session may do: set up, scope, mappings and
// their preview, and the status; the server refuses it everything else.
"use strict";

(() => {
  const card = document.getElementById("azure-card");
  if (!card || !window.scimhub) return;
  const { api, el, page } = window.scimhub;
  const base = card.dataset.api;
  const state = card.querySelector("[data-state]");
  const notice = card.querySelector("[data-notice]");
  const table = card.querySelector("[data-instances]");
  const rows = table.querySelector("tbody");
  const wizard = card.hasAttribute("data-wizard");
  const allowSync = card.querySelector("[data-allow-sync]"); // null on the wizard
  const setupForm = card.querySelector("[data-setup]");
  const expanded = new Set(); // instance ids whose editor is open, kept across redraws

  function say(text, kind) {
    notice.textContent = text;
    notice.className = `notice${kind ? ` notice-${kind}` : ""}`;
    notice.hidden = !text;
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
  }

  function writable(node) {
    if (page.readOnly) {
      node.disabled = true;
      node.title = "Read-only administrators cannot change this.";
    }
    return node;
  }

  // Run an action with its button disabled; the API call shows its own error toast.
  async function act(button, action) {
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      if (!(err instanceof window.scimhub.ApiError)) throw err;
    } finally {
      button.disabled = page.readOnly;
    }
  }

  function lastSync(instance) {
    const run = instance.lastExecution;
    if (!run) return el("span", { class: "muted" }, "Never");
    const counts = `${run.countExported ?? 0} exported, ${run.countImported ?? 0} imported`;
    return el("div", {},
      el("div", {}, when(run.timeEnded || run.timeBegan)),
      el("div", { class: "muted small" }, `${run.state || ""} · ${counts}`),
      run.error ? el("div", { class: "small badge-error" }, String(run.error.code || run.error.message || run.error)) : null);
  }

  function statusBadge(status) {
    const label = { NotRun: "Not run", NotConfigured: "Not configured" }[status] || status;
    return el("span", { class: `badge status-${status}`, "data-job-status": status }, label);
  }

  function mappingRow(mapping, targetsId, sourcesId) {
    const row = el("div", { class: "mapping-row", "data-mapping": true },
      writable(el("input", { value: mapping.source || "", list: sourcesId, "aria-label": "Source attribute", placeholder: "Entra attribute" })),
      el("span", { class: "muted" }, "→"),
      writable(el("input", { value: mapping.target || "", list: targetsId, "aria-label": "Target attribute", placeholder: "SCIM attribute" })),
      writable(el("button", { class: "btn btn-small btn-quiet", type: "button", "aria-label": "Remove mapping", onclick: () => row.remove() }, "✕")));
    return row;
  }

  // The targets the hub offers (its standard attributes and the organisation's own User
  // attributes) as suggestions for the target inputs, read when the editor opens.
  function targetList(instance, path) {
    const list = el("datalist", { id: `mapping-targets-${instance.id}`, "data-mapping-targets": true });
    api("GET", `${path}/mappings`).then((answer) => {
      for (const t of answer.targets || []) {
        list.append(el("option", { value: t.target }, t.custom ? `${t.name}: custom ${t.type}${t.multiValued ? ", multi-valued" : ""}` : null));
      }
    }).catch((err) => {
      if (!(err instanceof window.scimhub.ApiError)) throw err;
    });
    return list;
  }

  // "12 created, 3 updated (title: 3)": one resource type's line of a preview.
  function previewLine(label, tally) {
    const n = (x) => Number(x || 0).toLocaleString();
    const attrs = Object.entries(tally.attributes || {}).map(([a, c]) => `${a}: ${n(c)}`).join(", ");
    const parts = [
      `${n(tally.create)} created`,
      `${n(tally.update)} updated${attrs ? ` (${attrs})` : ""}`,
      `${n(tally.deactivate)} deactivated`,
      `${n(tally.delete)} deleted`,
      `${n(tally.unchanged)} unchanged`,
    ].filter((part) => label === "Users" || !part.endsWith(" deactivated"));
    if (tally.error) parts.push(`${n(tally.error)} refused`);
    return el("li", {}, el("strong", {}, `${label}: `), parts.join(", "));
  }

  function previewSamples(tally, label) {
    const items = [];
    for (const [change, shown] of Object.entries(tally.samples || {})) {
      for (const s of shown) {
        const extra = s.attributes ? ` (${s.attributes.join(", ")})` : s.detail ? ` (${s.detail})` : "";
        items.push(el("li", { "data-sample": change }, `${label} ${change}: ${s.name}${extra}`));
      }
    }
    return items;
  }

  // Before a scope or mapping change: ask the hub what it would do, show it, and apply
  // only when the admin says so; past the deletion threshold, only once they tick that
  // they mean it.
  async function previewThen(panel, path, change, apply) {
    panel.hidden = false;
    panel.replaceChildren(el("p", { class: "muted" }, "Working out what this change would do…"));
    let seen;
    try {
      seen = await api("POST", `${path}/preview`, change);
    } catch (err) {
      panel.hidden = true;
      throw err;
    }
    const confirmBox = el("input", { type: "checkbox", "data-preview-confirm": true });
    const applyButton = writable(el("button", { class: "btn btn-small", type: "button", "data-preview-apply": true }, "Apply change"));
    const cancel = el("button", { class: "btn btn-small btn-quiet", type: "button", onclick: () => { panel.hidden = true; } }, "Cancel");
    const removals = seen.removals || 0;
    const crosses = seen.threshold && seen.threshold.crosses;
    const warning = crosses
      ? el("div", { class: "notice notice-error", "data-preview-warning": true },
        el("p", {}, `This change would remove ${removals.toLocaleString()} users and groups, past the deletion threshold${seen.threshold.limit != null ? ` of ${seen.threshold.limit.toLocaleString()}` : ""}.`),
        el("label", {}, confirmBox, ` I understand that ${removals.toLocaleString()} users and groups will be deactivated or deleted.`))
      : null;
    if (crosses) {
      applyButton.disabled = true;
      confirmBox.addEventListener("change", () => { applyButton.disabled = page.readOnly || !confirmBox.checked; });
    }
    applyButton.addEventListener("click", () => act(applyButton, async () => {
      await apply();
      panel.hidden = true;
    }));
    const examined = seen.examined || {};
    panel.replaceChildren(
      el("h4", {}, "Preview of this change"),
      el("p", { class: "muted small", "data-preview-examined": true },
        `Examined ${Number(examined.users || 0).toLocaleString()} users and ${Number(examined.groups || 0).toLocaleString()} groups in ${seen.seconds} s. Nothing has changed yet.`),
      el("ul", { "data-preview-summary": true }, previewLine("Users", seen.users), previewLine("Groups", seen.groups)),
      el("ul", { class: "muted small" }, ...previewSamples(seen.users, "user"), ...previewSamples(seen.groups, "group")),
      ...(seen.notes || []).map((note) => el("p", { class: "muted small" }, note)),
      warning,
      el("div", { class: "actions" }, applyButton, cancel));
  }

  // The sources Entra offers (its user properties and the tenant's directory extensions),
  // read from the tenant when the editor opens.
  function sourceList(instance, path) {
    const list = el("datalist", { id: `mapping-sources-${instance.id}`, "data-mapping-sources": true });
    api("GET", `${path}/mappingSources`).then((answer) => {
      for (const s of answer.sources || []) {
        list.append(el("option", { value: s.source }, s.extension ? `directory extension (${s.type}${s.multiValued ? ", multi-valued" : ""}) of ${s.app}` : null));
      }
    }).catch((err) => {
      if (!(err instanceof window.scimhub.ApiError)) throw err;
    });
    return list;
  }

  function editor(instance) {
    const path = `${base}/instances/${encodeURIComponent(instance.id)}`;
    const targets = targetList(instance, path);
    const sources = sourceList(instance, path);
    const scope = writable(el("select", { "aria-label": "Scope" },
      el("option", { value: "assigned", selected: instance.scope === "assigned" }, "Only assigned users and groups"),
      el("option", { value: "all", selected: instance.scope === "all" }, "All users and groups")));
    const preview = el("div", { class: "preview", "data-preview": true, hidden: true });
    const saveScope = writable(el("button", { class: "btn btn-small", type: "button" }, "Save scope"));
    saveScope.addEventListener("click", () => act(saveScope, () => previewThen(preview, path, { scope: scope.value }, async () => {
      await api("PUT", `${path}/scope`, { scope: scope.value });
      say(`Scope of ${instance.name} saved.`, "ok");
      await refresh();
    })));

    const list = el("div", {}, ...(instance.mappings || []).map((m) => mappingRow(m, targets.id, sources.id)));
    const addMapping = writable(el("button", { class: "btn btn-small", type: "button", onclick: () => list.append(mappingRow({}, targets.id, sources.id)) }, "Add mapping"));
    const saveMappings = writable(el("button", { class: "btn btn-small", type: "button" }, "Save mappings"));
    saveMappings.addEventListener("click", () => act(saveMappings, () => {
      const mappings = Array.from(list.querySelectorAll("[data-mapping]"), (row) => {
        const [source, target] = row.querySelectorAll("input");
        return { source: source.value.trim(), target: target.value.trim() };
      }).filter((m) => m.source && m.target);
      return previewThen(preview, path, { mappings }, async () => {
        await api("PUT", `${path}/mappings`, { mappings });
        say(`Attribute mappings of ${instance.name} saved.`, "ok");
        await refresh();
      });
    }));

    if (wizard) {
      return el("tr", { class: "instance-detail", "data-detail-for": instance.id },
        el("td", { colspan: 6 },
          preview,
          el("div", { class: "editor" },
            el("div", {},
              el("h4", {}, "Scope"),
              el("div", { class: "mapping-row" }, scope, saveScope),
              el("p", { class: "muted small" }, `Tenant ${instance.tenantDomain || instance.tenantId} · ${instance.mode === "pull" ? "pulled from Microsoft Graph" : "pushed by Entra's provisioning job"}`)),
            el("div", {},
              el("h4", {}, "Attribute mappings"),
              list,
              targets,
              sources,
              el("div", { class: "actions" }, addMapping, saveMappings)))));
    }

    const userId = writable(el("input", { placeholder: "Entra user object id", "aria-label": "Entra user object id", size: 38 }));
    const provision = writable(el("button", { class: "btn btn-small", type: "button" }, "Provision on demand"));
    provision.addEventListener("click", () => act(provision, async () => {
      if (!userId.value.trim()) return;
      await api("POST", `${path}/provisionOnDemand`, { userId: userId.value.trim() });
      say(`Provisioning of ${userId.value.trim()} requested.`, "ok");
    }));

    const remove = writable(el("button", { class: "btn btn-small btn-danger", type: "button" }, "Remove instance"));
    remove.addEventListener("click", () => act(remove, async () => {
      if (!window.confirm(`Remove ${instance.name}? Provisioning from this tenant stops.`)) return;
      await api("DELETE", path);
      say(`${instance.name} removed.`, "ok");
      expanded.delete(instance.id);
      await refresh();
    }));

    const quarantine = instance.quarantine
      ? el("p", { class: "notice notice-error" },
        `In quarantine since ${when(instance.quarantine.currentBegan)}: ${instance.quarantine.reason || "unknown reason"}. Next attempt ${when(instance.quarantine.nextAttempt) || "not scheduled"}.`)
      : null;

    return el("tr", { class: "instance-detail", "data-detail-for": instance.id },
      el("td", { colspan: 6 },
        quarantine,
        preview,
        el("div", { class: "editor" },
          el("div", {},
            el("h4", {}, "Scope"),
            el("div", { class: "mapping-row" }, scope, saveScope),
            el("h4", {}, "Provision on demand"),
            el("div", { class: "mapping-row" }, userId, provision),
            el("p", { class: "muted small" }, `Tenant ${instance.tenantDomain || instance.tenantId} · ${instance.mode === "pull" ? "pulled from Microsoft Graph" : "pushed by Entra's provisioning job"}`),
            remove),
          el("div", {},
            el("h4", {}, "Attribute mappings"),
            list,
            targets,
            sources,
            el("div", { class: "actions" }, addMapping, saveMappings)))));
  }

  // The deletion brake: removals a pull round held, waiting for an admin.
  function heldLink(instance) {
    const held = instance.deletionsHeld || 0;
    if (!held) return null;
    if (wizard) return el("div", { class: "badge status-Held" }, `Deletions held: ${held.toLocaleString()}`);
    return el("div", {},
      el("a", { class: "badge status-Held", href: `/console/deletions?instance=${encodeURIComponent(instance.id)}`, "data-deletions-held": String(held) },
        `Deletions held: ${held.toLocaleString()}`));
  }

  function instanceRow(instance) {
    const path = `${base}/instances/${encodeURIComponent(instance.id)}`;
    const auto = writable(el("input", { type: "checkbox", "data-auto-sync": true, "aria-label": `Auto sync ${instance.name}` }));
    auto.checked = Boolean(instance.autoSync);
    if (wizard) auto.disabled = true; // shown, not changed, from a setup link
    auto.addEventListener("change", () => act(auto, async () => {
      try {
        await api("POST", `${path}/autoSync`, { enabled: auto.checked });
      } catch (err) {
        auto.checked = !auto.checked;
        throw err;
      }
      await refresh();
    }));
    const syncNow = writable(el("button", { class: "btn btn-small", type: "button", "data-sync-now": true }, "Sync now"));
    syncNow.addEventListener("click", () => act(syncNow, async () => {
      await api("POST", `${path}/syncNow`);
      say(`Sync of ${instance.name} started.`, "ok");
      await refresh();
    }));
    const more = el("button", { class: "btn btn-small btn-quiet", type: "button", "aria-expanded": String(expanded.has(instance.id)) }, expanded.has(instance.id) ? "Hide" : "Configure");
    more.addEventListener("click", () => {
      if (expanded.has(instance.id)) expanded.delete(instance.id); else expanded.add(instance.id);
      draw(lastStatus);
    });
    const counts = instance.counts || {};
    return el("tr", { "data-instance": instance.id },
      el("td", {}, el("strong", {}, instance.name), el("div", { class: "muted small" }, instance.tenantDomain || instance.tenantId || "")),
      el("td", {}, statusBadge(instance.jobStatus || "Unknown"), heldLink(instance)),
      el("td", {}, el("label", { class: "switch" }, auto, el("span", { class: "slider" }))),
      el("td", {}, lastSync(instance)),
      el("td", { class: "num" }, `${counts.users ?? 0} / ${counts.groups ?? 0}`),
      el("td", {}, el("div", { class: "actions" }, wizard ? null : syncNow, more)));
  }

  let lastStatus = null;
  function draw(status) {
    lastStatus = status;
    if (allowSync) {
      allowSync.checked = Boolean(status.allowSync);
      allowSync.disabled = page.readOnly || !status.configured;
    }
    const instances = status.instances || [];
    rows.replaceChildren();
    for (const instance of instances) {
      rows.append(instanceRow(instance));
      if (expanded.has(instance.id)) rows.append(editor(instance));
    }
    table.hidden = instances.length === 0;
    state.textContent = status.configured
      ? (instances.length ? "" : wizard ? "Connected. No provisioning instance yet: choose Set up to connect your tenant." : "Connected. No provisioning instance yet: allow Azure AD sync to create one.")
      : "Azure AD is not set up. Choose Set up to give admin consent in your Entra tenant.";
    state.hidden = !state.textContent;
  }

  async function refresh() {
    try {
      draw(await api("GET", `${base}/status`));
    } catch (err) {
      if (!(err instanceof window.scimhub.ApiError)) throw err;
      state.textContent = `The integration status could not be read (HTTP ${err.failure.status}, TrackingID ${err.failure.trackingId}).`;
      state.hidden = false;
    }
  }

  if (allowSync) allowSync.addEventListener("change", () => act(allowSync, async () => {
    try {
      const answer = await api("POST", `${base}/allowSync`, { enabled: allowSync.checked });
      draw(answer);
      // Off is saved whatever Entra answers; a job it would not pause is said so.
      for (const warning of answer.warnings || []) say(warning.description, "error");
    } catch (err) {
      allowSync.checked = !allowSync.checked;
      throw err;
    }
  }));

  setupForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = setupForm.querySelector("button");
    act(button, async () => {
      const tenant = setupForm.elements.tenant.value.trim() || "common";
      const answer = await api("POST", `${base}/setup`, { tenant });
      window.location.assign(answer.consentUrl); // Entra's sign-in, with admin consent
    });
  });
  if (page.readOnly) setupForm.querySelectorAll("input, button").forEach(writable);

  const params = new URLSearchParams(window.location.search);
  if (params.get("azure") === "connected") {
    say(wizard
      ? "Azure AD is connected. Open Configure to review the scope and attribute mappings."
      : "Azure AD is connected. Turn on Allow Azure AD sync to start provisioning.", "ok");
  } else if (params.get("azure") === "error") {
    const next = wizard ? "Try Set up again, or send the TrackingID to whoever sent the link." : "See Troubleshooting.";
    say(`Azure AD setup did not complete. TrackingID: ${params.get("trackingId") || "unknown"}. ${next}`, "error");
  }
  refresh();
})();
