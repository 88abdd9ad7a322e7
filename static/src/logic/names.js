// What the page shows for a person's display name where there is little room.

/**
 * Up to two initials of `name` ("Ada Lovelace" → "AL", "fay" → "F"), in upper case:
 * the first characters of its first and last words, whole (an emoji stays one).
 */
export function initials (name) {
  const words = String(name || '').trim().split(/\s+/).filter(Boolean)
  if (!words.length) return '?'
  const first = (word) => Array.from(word)[0]
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [words[0]]
  return letters.map(first).join('').toLocaleUpperCase()
}
