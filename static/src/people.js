// The roster: who is here, where, and whether they are active; follow; remove.

import { h, replace } from './dom.js'
import { t } from './i18n.js'
import { colourClass } from './logic/colours.js'
import { abilities, roleName } from './logic/roles.js'

const STATES = ['active', 'idle', 'away']
const ROLES = ['facilitator', 'member', 'observer']

/**
 * A role's name as the page shows it within a line ("Fay · facilitator"), in the
 * interface's language; a role the catalogues do not know goes by the vocabulary's name.
 */
export function roleLabel (vocabulary, key) {
  return ROLES.includes(key) ? t('people.role.' + key) : roleName(vocabulary, key)
}

export class RosterPanel {
  /**
   * vocabulary: the server's (roles' names and abilities); me: {id, can};
   * onFollow(id or null), onRemove(row): the buttons' actions; onYou(row): this
   * person's own row, whenever the roster changes.
   */
  constructor ({ root, me, vocabulary, onFollow, onRemove, onYou = () => {} }) {
    this.root = root
    this.me = me
    this.vocabulary = vocabulary
    this.onFollow = onFollow
    this.onRemove = onRemove
    this.onYou = onYou
    this.rows = []
    this.following = null
    this.spotlight = null
  }

  update (rows) {
    this.rows = rows
    const mine = rows.find((row) => row.id === this.me.id)
    if (mine) this.onYou(mine)
    this.render()
  }

  render () {
    const items = this.rows.map((row) => {
      const me = row.id === this.me.id
      const following = this.following === row.id
      // Moderators remove others, except moderators.
      const removable = !me && this.me.can.moderate && !abilities(this.vocabulary, row.role).moderate
      const where = row.document ? row.document : t('people.inTheRoom')
      const state = STATES.includes(row.state) ? t('people.state.' + row.state) : row.state
      return h('li', { class: 'rt-person rt-state-' + row.state },
        h('span', { class: 'rt-dot ' + colourClass(row.colour), 'aria-hidden': 'true' }),
        h('span', { class: 'rt-person-name' }, me ? t('people.you', { name: row.name }) : row.name),
        h('span', { class: 'rt-person-meta' },
          roleLabel(this.vocabulary, row.role), ' · ', where, ' · ',
          h('span', { class: 'rt-state' }, state),
          this.spotlight === row.id ? ' · ' + t('people.spotlight') : ''),
        me
          ? null
          : h('span', { class: 'rt-person-actions' },
            h('button', {
              type: 'button',
              class: 'rt-link',
              'aria-pressed': String(following),
              onclick: () => this.onFollow(following ? null : row.id)
            }, following ? t('people.stopFollowing') : t('people.follow')),
            removable
              ? h('button', { type: 'button', class: 'rt-link rt-danger', 'aria-haspopup': 'dialog', onclick: () => this.onRemove(row) }, t('people.remove'))
              : null))
    })
    replace(this.root,
      h('h2', { class: 'rt-panel-title' }, t('people.hereNow', { count: this.rows.length })),
      h('ul', { class: 'rt-people', 'aria-label': t('people.list') }, items))
  }
}
