// Following someone: going to the document they are in and keeping their caret in
// view. The facilitator's spotlight takes people along (roles.js says who).

import { announce, h } from './dom.js'
import { t } from './i18n.js'
import { followsSpotlight, spotlightPolicy } from './logic/roles.js'

export class Following {
  /**
   * people: the RosterPanel; layout: the RoomLayout (the spotlight banner, the sheets);
   * open(name): open a document; getEditor(), getFeed(), getRoster(): the room's current ones.
   */
  constructor ({ me, people, layout, open, getEditor, getFeed, getRoster }) {
    this.me = me
    this.people = people
    this.layout = layout
    this.open = open
    this.getEditor = getEditor
    this.getFeed = getFeed
    this.getRoster = getRoster
    this.id = null
    this.bySpotlight = false
  }

  /**
   * Follow participant `id` (null: nobody); `spotlight`: because they have it. Choosing
   * someone to follow closes the phone's sheet the choice was made in.
   */
  follow (id, spotlight = false) {
    this.id = id
    this.bySpotlight = Boolean(id && spotlight)
    this.people.following = id
    this.people.render()
    const feed = this.getFeed()
    if (feed) feed.setPresence({ following: id })
    if (id) {
      if (!spotlight) this.layout.closeSheet()
      const row = this.getRoster().find((r) => r.id === id)
      if (row && row.document) this.open(row.document)
      const editor = this.getEditor()
      if (editor) editor.showCaretOf(id)
      announce(row ? t('people.following', { name: row.name }) : t('people.followingSomeone'))
    }
  }

  /** The roster changed: go where the followed person went; stop if they left. */
  onRoster (rows) {
    if (!this.id) return
    const row = rows.find((r) => r.id === this.id)
    const editor = this.getEditor()
    if (!row) this.follow(null)
    else if (row.document && (!editor || editor.name !== row.document)) this.open(row.document)
  }

  /** Someone has the spotlight now (`person`: {id, name}), or nobody (null). */
  setSpotlight (person) {
    this.people.spotlight = person ? person.id : null
    this.people.render()
    this.layout.showSpotlight(person)
    const feed = this.getFeed()
    const optedOut = feed && feed.presence.spotlight_opt_out
    if (person && followsSpotlight(this.me.can, { isMe: person.id === this.me.id, optedOut })) {
      this.follow(person.id, true)
    } else if (!person && this.bySpotlight) {
      this.follow(null)
    }
  }

  /** This person opted out of following the spotlight (or back in). */
  optOut (checked) {
    this.getFeed().setPresence({ spotlight_opt_out: checked })
    if (checked && this.bySpotlight) this.follow(null)
  }
}

/** For those who may choose (roles.js): the box that keeps them out of the spotlight's way. */
export function spotlightOptOut (can, onChange) {
  if (spotlightPolicy(can) !== 'optional') return null
  const optOut = h('input', { type: 'checkbox', id: 'spotlight-opt-out' })
  optOut.addEventListener('change', () => onChange(optOut.checked))
  return h('label', { class: 'rt-check rt-spotlight-choice' }, optOut, t('people.spotlightOptOut'))
}
