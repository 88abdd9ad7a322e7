// Roles as the server's vocabulary (GET /api/vocabulary) names them and says what
// each may do: {key, label, can_edit, can_create_documents, can_moderate}.

function find (vocabulary, key) {
  return vocabulary.roles.find((role) => role.key === key) || null
}

/**
 * What a role may do: {edit, createDocuments, moderate}. A role the vocabulary does
 * not know may do nothing (the server decides anyway; the page offers less).
 */
export function abilities (vocabulary, key) {
  const role = find(vocabulary, key)
  return {
    edit: Boolean(role && role.can_edit),
    createDocuments: Boolean(role && role.can_create_documents),
    moderate: Boolean(role && role.can_moderate)
  }
}

/**
 * A role's name as the page shows it within a line ("Fay · facilitator", "the member
 * invite link"): the vocabulary's label in lower case, or the key if it is unknown.
 */
export function roleName (vocabulary, key) {
  const role = find(vocabulary, key)
  return role ? role.label.toLowerCase() : key
}

/**
 * Whether someone goes where the spotlight goes: 'never' if they moderate (they give
 * the spotlight), 'always' if they may not edit (they watch), else 'optional' (unless
 * they opted out).
 */
export function spotlightPolicy (can) {
  if (can.moderate) return 'never'
  if (!can.edit) return 'always'
  return 'optional'
}

/** Whether to follow the person who just took the spotlight. */
export function followsSpotlight (can, { isMe, optedOut }) {
  if (isMe) return false
  const policy = spotlightPolicy(can)
  return policy === 'always' || (policy === 'optional' && !optedOut)
}
