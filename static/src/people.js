// The roster: who is here, where, and whether they are active; who is a guest; follow;
// remove; and, for facilitators, the way to the People panel (people-manage.js).

import { h, replace } from './dom.js'
import { t } from './i18n.js'
import { colourClass } from './logic/colours.js'
import { abilities, roleName } from './logic/roles.js'

const STATES = ['active', 'idle', 'away']
// The roles one may be given, by invite link, by email or by a change of role.
export const ROLES = ['facilitator', 'member', 'observer']
// The roles the catalogues name: also a mentor from outside the cohort, whom only an
// invitation to mentor a document seats (mentor.js).
const NAMED = [...ROLES, 'mentor']

/**
 * A role's name as the page shows it within a line ("Fay · facilitator"), in the
 * interface's language; a role the catalogues do not know goes by the vocabulary's name.
 */
export function roleLabel (vocabulary, key) {
  return NAMED.includes(key) ? t('people.role.' + key) : roleName(vocabulary, key)
}

/** A role's name on its own ("Facilitator"), in the interface's language. */
export function roleTitle (vocabulary, key) {
  if (NAMED.includes(key)) return t('people.roleTitle.' + key)
  const name = roleName(vocabulary, key)
  return name.charAt(0).toUpperCase() + name.slice(1)
}

/** The small "Guest" tag by the name of someone who joined without an account. */
export function guestTag () {
  return h('span', { class: 'rt-tag rt-guest-tag' }, t('guest.tag'))
}

export class RosterPanel {
  /**
   * vocabulary: the server's (roles' names and abilities); me: {id, can};
   * onFollow(id or null), onRemove(row): the buttons' actions; onYou(row): this
   * person's own row, whenever the roster changes; onManage(): opens the People panel
   * (offered to moderators). people: the room's participants by id ({role, guest},
   * from people-manage.js), which know better than a roster row whether someone is a
   * guest and what their role is now.
   */
  constructor ({ root, me, vocabulary, onFollow, onRemove, onYou = () => {}, onManage = null, people = new Map() }) {
    this.root = root
    this.me = me
    this.vocabulary = vocabulary
    this.onFollow = onFollow
    this.onRemove = onRemove
    this.onYou = onYou
    this.people = people
    this.rows = []
    this.following = null
    this.spotlight = null
    // Drawn once: a roster update redraws the list only, so the button keeps focus.
    this.title = h('h2', { class: 'rt-panel-title' })
    this.manage = me.can.moderate && onManage
      ? h('button', { type: 'button', class: 'rt-link rt-people-manage', 'aria-haspopup': 'dialog', onclick: () => onManage() }, t('people.manage'))
      : null
    this.list = h('ul', { class: 'rt-people', 'aria-label': t('people.list') })
    replace(this.root, h('div', { class: 'rt-people-head' }, this.title, this.manage), this.list)
  }

  update (rows) {
    this.rows = rows
    const mine = rows.find((row) => row.id === this.me.id)
    if (mine) this.onYou(mine)
    this.render()
  }

  /** The participants by id changed (a guest found, a role changed): draw again. */
  setPeople (people) {
    this.people = people
    this.render()
  }

  /** `row`'s role and whether they are a guest, as best known. */
  standing (row) {
    const known = this.people.get(row.id)
    return {
      role: known ? known.role : row.role,
      guest: known ? Boolean(known.guest) : row.guest === true
    }
  }

  render () {
    const items = this.rows.map((row) => {
      const me = row.id === this.me.id
      const { role, guest } = this.standing(row)
      const following = this.following === row.id
      // Moderators remove others, except moderators.
      const removable = !me && this.me.can.moderate && !abilities(this.vocabulary, role).moderate
      const where = row.document ? row.document : t('people.inTheRoom')
      const state = STATES.includes(row.state) ? t('people.state.' + row.state) : row.state
      return h('li', { class: 'rt-person rt-state-' + row.state, dataset: { participant: row.id } },
        h('span', { class: 'rt-dot ' + colourClass(row.colour), 'aria-hidden': 'true' }),
        h('span', { class: 'rt-person-name' }, me ? t('people.you', { name: row.name }) : row.name,
          guest ? [' ', guestTag()] : null),
        h('span', { class: 'rt-person-meta' },
          roleLabel(this.vocabulary, role), ' · ', where, ' · ',
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
              ? h('button', { type: 'button', class: 'rt-link rt-danger', 'aria-haspopup': 'dialog', onclick: () => this.onRemove({ ...row, role }) }, t('people.remove'))
              : null))
    })
    this.title.textContent = t('people.hereNow', { count: this.rows.length })
    replace(this.list, items)
  }
}
