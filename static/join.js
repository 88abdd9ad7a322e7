// Join flow: trade the invite in the URL for a participant token, then list the room.
const code = decodeURIComponent(location.pathname.split("/").pop() || "");
const form = document.getElementById("join-form");
const status = document.getElementById("status");

function show(id, text) {
  document.getElementById(id).textContent = text;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = new FormData(form).get("name");
  status.textContent = "Joining…";
  const response = await fetch("/api/join", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ invite: code, name }),
  });
  const body = await response.json();
  if (!response.ok) {
    status.textContent = body.error ? body.error.message : "Could not join.";
    return;
  }
  sessionStorage.setItem("roundtable-token", body.token);
  const detail = await fetch(`/api/rooms/${encodeURIComponent(body.room)}`, {
    headers: { authorization: `Bearer ${body.token}` },
  }).then((r) => r.json());
  form.hidden = true;
  status.textContent = "";
  show("room-title", detail.title);
  show("role", detail.you.role);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  show("sync-url", `${scheme}://${location.host}/sync/${body.room}/DOCUMENT`);
  const list = document.getElementById("documents");
  list.replaceChildren(
    ...detail.documents.map((d) => {
      const item = document.createElement("li");
      item.textContent = d.name;
      return item;
    }),
  );
  if (!detail.documents.length) {
    const item = document.createElement("li");
    item.textContent = "No documents yet.";
    list.append(item);
  }
  document.getElementById("room").hidden = false;
});
