// dialplan dashboard: live broadcast progress over server-sent events (the page works without it).
"use strict";

function showProgress(root, data) {
  for (const [key, value] of Object.entries(data)) {
    for (const el of root.querySelectorAll(`[data-field="${key}"]`)) {
      el.textContent = value;
    }
  }
  const bar = root.querySelector("progress");
  if (bar && typeof data.percent === "number") {
    bar.value = data.percent;
    bar.textContent = `${data.percent} %`;
  }
  for (const name of ["results_chart", "answers_chart"]) {
    const holder = root.querySelector(`[data-chart="${name}"]`);
    if (holder && data[name]) holder.innerHTML = data[name];
  }
  const writable = root.dataset.writable === "true";
  for (const button of root.querySelectorAll("[data-when]")) {
    button.disabled = !writable || !button.dataset.when.split(" ").includes(data.state);
  }
  root.dataset.eventsSeen = String(Number(root.dataset.eventsSeen || 0) + 1);
}

function follow(root) {
  const source = new EventSource(root.dataset.events);
  source.addEventListener("progress", (event) => {
    const data = JSON.parse(event.data);
    showProgress(root, data);
    if (data.final) source.close();
  });
  source.onerror = () => {
    const status = root.querySelector("[data-field=connection]");
    if (status) status.textContent = "reconnecting…";
  };
}

document.addEventListener("DOMContentLoaded", () => {
  for (const root of document.querySelectorAll("[data-events]")) follow(root);
});
