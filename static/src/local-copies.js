// The copies of documents this browser keeps (IndexedDB, through y-indexeddb), one per
// room, participant and document, so that two people using one browser never share
// one; and a note per room (localStorage) of the copies kept and how many edits each
// holds that the server has not confirmed, so that the room page sends them even when
// another document is open, and forgets every copy of a room it is refused.

const PREFIX = 'roundtable/'
const NOTE = 'roundtable:copies:'

/** The IndexedDB database that holds `participant`'s copy of document `name` in `room`. */
export function copyName (room, participant, name) {
  return PREFIX + [room, participant, name].map(encodeURIComponent).join('/')
}

function readNote (room) {
  try {
    const note = JSON.parse(localStorage.getItem(NOTE + room) || '{}')
    return note && typeof note === 'object' ? note : {}
  } catch {
    return {}
  }
}

function writeNote (room, note) {
  try {
    if (Object.keys(note).length) localStorage.setItem(NOTE + room, JSON.stringify(note))
    else localStorage.removeItem(NOTE + room)
  } catch {
    // Storage full or off: the copy itself still holds the edits.
  }
}

/** Note that `participant`'s copy of `name` is kept, with `count` unconfirmed edits. */
export function noteCopy (room, participant, name, count) {
  const note = readNote(room)
  const mine = note[participant] && typeof note[participant] === 'object' ? note[participant] : {}
  if (mine[name] === count) return
  note[participant] = { ...mine, [name]: count }
  writeNote(room, note)
}

/** The documents of `room` whose copy of `participant`'s holds unconfirmed edits. */
export function documentsWaiting (room, participant) {
  const mine = readNote(room)[participant] || {}
  return Object.keys(mine).filter((name) => mine[name] > 0)
}

/**
 * Delete every copy this browser keeps of `room`'s documents (whoever's they are), once
 * the copies' connections are closed (`close`, which may return a promise). Resolves
 * when the deletions were asked for; a copy in use by another tab is deleted once that
 * tab lets go of it.
 */
export async function forgetCopies (room, close = () => {}) {
  const note = readNote(room)
  try { localStorage.removeItem(NOTE + room) } catch { /* nothing kept */ }
  try {
    await close()
  } catch {
    // A copy that never opened needs no closing.
  }
  if (!globalThis.indexedDB) return
  const names = new Set()
  for (const [participant, documents] of Object.entries(note)) {
    for (const name of Object.keys(documents)) names.add(copyName(room, participant, name))
  }
  if (indexedDB.databases) {
    const prefix = PREFIX + encodeURIComponent(room) + '/'
    try {
      for (const db of await indexedDB.databases()) {
        if (db.name && db.name.startsWith(prefix)) names.add(db.name)
      }
    } catch {
      // Listing refused: the noted copies are still deleted.
    }
  }
  for (const name of names) indexedDB.deleteDatabase(name)
}
