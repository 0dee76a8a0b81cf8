// What the window knows: settings view, schema, catalogue, status, session; and the admins' policy edits.

import { get, post, put } from "./api.js";

export const state = {
  session: null,
  view: null,
  schema: null,
  catalogue: null,
  status: null,
};

// Types of standard fields a variable can be mapped into (companion.settings.fields.MAPPABLE_STANDARD).
export const MAPPABLE_STANDARD = new Set(["text", "textarea", "emails", "phones", "urls", "company"]);

export async function loadAll() {
  const [view, schema, catalogue, status] = await Promise.all([
    get("/api/settings"),
    get("/api/settings/schema"),
    get("/api/catalogue"),
    get("/api/status"),
  ]);
  Object.assign(state, { view, schema, catalogue, status });
}

export async function reloadView() {
  state.view = await get("/api/settings");
  return state.view;
}

export async function reloadStatus() {
  state.status = await get("/api/status");
  return state.status;
}

export async function reloadCatalogue() {
  state.catalogue = await get("/api/catalogue");
  return state.catalogue;
}

export const isAdmin = () => Boolean(state.session && state.session.admin);

export function leavesOf(path) {
  return state.schema.paths.filter((leaf) => leaf === path || leaf.startsWith(`${path}.`));
}

export function value(path) {
  const entry = state.view.settings[path];
  if (entry) return entry.value;
  // A section path: its leaves as an object.
  const out = {};
  for (const leaf of leavesOf(path)) out[leaf.slice(path.length + 1)] = state.view.settings[leaf].value;
  return out;
}

export function isLocked(path) {
  const leaves = leavesOf(path);
  return leaves.length > 0 && leaves.every((leaf) => state.view.settings[leaf].locked);
}

export function sourceOf(path) {
  const sources = leavesOf(path).map((leaf) => state.view.settings[leaf].source);
  if (sources.includes("user")) return "user";
  if (sources.includes("team")) return "team";
  return "builtin";
}

export function warningsFor(path) {
  return state.view.warnings.filter((w) => w.path === path || w.path.startsWith(`${path}.`));
}

export function fieldsFor(resource) {
  return (state.catalogue.fields && state.catalogue.fields[resource]) || [];
}

export function fieldLabel(resource, ref) {
  const found = fieldsFor(resource).find((field) => field.ref === ref);
  return found ? found.label : ref;
}

export function enumOf(definition, property) {
  const defs = state.schema.schema.$defs || {};
  const model = defs[definition];
  const prop = model && model.properties && model.properties[property];
  return (prop && prop.enum) || [];
}

// --- admin: the team policy ---------------------------------------------------------------------

export async function loadPolicy() {
  return get("/api/policy");
}

// Lock or unlock `path` (a setting or a group) for every non-admin user. Locking makes the value in
// force the team's default, and drops the admin's own value there so it does not linger as a problem.
export async function setLocked(path, locked) {
  const { policy } = await loadPolicy();
  const leaves = leavesOf(path);
  const lockedSet = new Set(policy.locked);
  const defaults = { ...policy.defaults };
  if (locked) {
    for (const leaf of leaves) {
      lockedSet.add(leaf);
      if (!(leaf in defaults)) defaults[leaf] = state.view.settings[leaf].value;
    }
    const own = leaves.filter((leaf) => state.view.settings[leaf].source === "user");
    if (own.length) await post("/api/settings/reset", { paths: own });
  } else {
    for (const leaf of leaves) lockedSet.delete(leaf);
  }
  state.view = await put("/api/policy", { version: policy.version, defaults, locked: [...lockedSet].sort() });
}

export async function savePolicy(policy) {
  state.view = await put("/api/policy", policy);
}

// --- a team admin: the team database's policy ---------------------------------------------------

// The policy as the team database holds it now, with the revision an edit starts from.
export async function loadTeamPolicy() {
  return get("/api/team/policy");
}

// Written only if the database is still at `revision`; otherwise policy.conflict and nothing changes.
export async function saveTeamPolicy(policy, revision) {
  return put("/api/team/policy", { policy, revision });
}
