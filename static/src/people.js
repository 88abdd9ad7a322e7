// The roster: who is here, where, and whether they are active; follow; remove.

import { h, replace } from './dom.js'
import { colourClass } from './logic/colours.js'
import { abilities, roleName } from './logic/roles.js'

const STATE_LABEL = { active: 'active', idle: 'idle', away: 'away' }

export class RosterPanel {
  /** vocabulary: the server's (roles' names and abilities); me: {id, can}. */
  constructor ({ root, me, vocabulary, onFollow, onRemove }) {
    this.root = root
    this.me = me
    this.vocabulary = vocabulary
    this.onFollow = onFollow
    this.onRemove = onRemove
    this.rows = []
    this.following = null
    this.spotlight = null
  }

  update (rows) {
    this.rows = rows
    this.render()
  }

  render () {
    const items = this.rows.map((row) => {
      const me = row.id === this.me.id
      const following = this.following === row.id
      return h('li', { class: 'rt-person rt-state-' + row.state },
        h('span', { class: 'rt-dot ' + colourClass(row.colour), 'aria-hidden': 'true' }),
        h('span', { class: 'rt-person-name' }, row.name, me ? ' (you)' : ''),
        h('span', { class: 'rt-person-meta' },
          roleName(this.vocabulary, row.role), ' · ', row.document ? row.document : 'room', ' · ',
          h('span', { class: 'rt-state' }, STATE_LABEL[row.state] || row.state),
          this.spotlight === row.id ? ' · spotlight' : ''),
        me
          ? null
          : h('button', {
            class: 'rt-link',
            'aria-pressed': String(following),
            onclick: () => this.onFollow(following ? null : row.id)
          }, following ? 'Stop following' : 'Follow'),
        // Moderators remove others, except moderators.
        !me && this.me.can.moderate && !abilities(this.vocabulary, row.role).moderate
          ? h('button', { class: 'rt-link rt-danger', 'aria-haspopup': 'dialog', onclick: () => this.onRemove(row) }, 'Remove')
          : null)
    })
    replace(this.root,
      h('h2', { class: 'rt-panel-title' }, `Here now (${this.rows.length})`),
      h('ul', { class: 'rt-people', 'aria-label': 'People in the room' }, items))
  }
}
