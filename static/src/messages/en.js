// Interface messages, by part of the page. Keys are "part.what"; a value with plural
// forms is an object ({ one, other }) chosen by the count (see i18n.js).

export default {
  // common
  'common.cancel': 'Cancel',
  // join page
  // room frame and header
  // documents
  // toolbar, selection menu and export
  // editor states: banners, notices, empty states, connection
  // discussion: comments and questions
  // people and following
  // facilitation: session controls and invites
  // versions
  // removal
}
