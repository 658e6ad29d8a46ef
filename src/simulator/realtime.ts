/**
 * Plausible CXone real-time data that changes with time, deterministically: each item updates on its
 * own period, so `updatedSince` returns only what changed, and `lastPollTime` is the poll's time.
 */

const SKILLS = [
  { skillId: 4001, skillName: 'Billing Inbound', mediaTypeId: 4, isOutbound: false, period: 5_000 },
  { skillId: 4002, skillName: 'Tech Support', mediaTypeId: 4, isOutbound: false, period: 7_000 },
  { skillId: 4003, skillName: 'Sales Chat', mediaTypeId: 3, isOutbound: false, period: 11_000 },
  { skillId: 4004, skillName: 'Email Care', mediaTypeId: 1, isOutbound: false, period: 13_000 },
  { skillId: 4005, skillName: 'Retention Outbound', mediaTypeId: 4, isOutbound: true, period: 17_000 },
  { skillId: 4006, skillName: 'Spanish Line', mediaTypeId: 4, isOutbound: false, period: 19_000 }
]

const AGENT_STATES = ['Available', 'Unavailable', 'InboundContact', 'OutboundContact', 'ACW', 'LoggedOut']
const AGENTS = Array.from({ length: 12 }, (_, i) => ({ agentId: 71000 + i, firstName: `Agent${i + 1}`, lastName: 'Sim', period: 6_000 + i * 1_500 }))

/** A stable pseudo-random integer in [0, n) for (seed, step). */
function wave (seed: number, step: number, n: number): number {
  let x = (seed * 2654435761 + step * 40503) >>> 0
  x ^= x >>> 13
  x = Math.imul(x, 0x5bd1e995) >>> 0
  x ^= x >>> 15
  return (x >>> 0) % n
}

function lastChange (now: number, period: number): number {
  return Math.floor(now / period) * period
}

export interface Page<T> { items: T[], totalRecords: number, next: { skip: number, top: number } | undefined }

export function paginate<T> (all: T[], skip: number, top: number): Page<T> {
  const items = all.slice(skip, skip + top)
  return { items, totalRecords: all.length, next: skip + top < all.length ? { skip: skip + top, top } : undefined }
}

export function skillActivity (now: number, updatedSince: number | undefined, skillId?: number): Array<Record<string, unknown>> {
  return SKILLS
    .filter((s) => skillId === undefined || s.skillId === skillId)
    .filter((s) => updatedSince === undefined || lastChange(now, s.period) > updatedSince)
    .map((s) => {
      const step = Math.floor(now / s.period)
      const queueCount = wave(s.skillId, step, 9)
      const loggedIn = 4 + wave(s.skillId + 1, step, 8)
      const available = Math.min(loggedIn, wave(s.skillId + 2, step, 4))
      const working = loggedIn - available
      const inSLA = 40 + wave(s.skillId + 3, step, 60)
      const outSLA = wave(s.skillId + 4, step, 15)
      return {
        skillId: s.skillId,
        skillName: s.skillName,
        mediaTypeId: s.mediaTypeId,
        isOutbound: s.isOutbound,
        queueCount,
        skillQueueCount: queueCount,
        contactsActive: working + queueCount,
        earliestQueueTime: queueCount > 0 ? new Date(now - (5 + wave(s.skillId + 5, step, 300)) * 1000).toISOString() : null,
        agentsAvailable: available,
        agentsWorking: working,
        agentsACW: wave(s.skillId + 6, step, 3),
        agentsIdle: available,
        agentsLoggedIn: loggedIn,
        serviceLevel: Math.round((inSLA / (inSLA + outSLA)) * 100),
        serviceLevelGoal: 80,
        serviceLevelThreshold: 30,
        inSLA,
        outSLA,
        lastUpdateTime: new Date(lastChange(now, s.period)).toISOString()
      }
    })
}

export function agentStates (now: number, updatedSince: number | undefined): Array<Record<string, unknown>> {
  return AGENTS
    .filter((a) => updatedSince === undefined || lastChange(now, a.period) > updatedSince)
    .map((a) => {
      const step = Math.floor(now / a.period)
      const state = AGENT_STATES[wave(a.agentId, step, AGENT_STATES.length)] as string
      return {
        agentId: a.agentId,
        firstName: a.firstName,
        lastName: a.lastName,
        agentStateId: AGENT_STATES.indexOf(state),
        agentStateName: state,
        skillId: SKILLS[wave(a.agentId + 1, step, SKILLS.length)]?.skillId,
        startDate: new Date(lastChange(now, a.period)).toISOString(),
        lastUpdateTime: new Date(lastChange(now, a.period)).toISOString()
      }
    })
}

export function activeContacts (now: number, updatedSince: number | undefined): Array<Record<string, unknown>> {
  const step = Math.floor(now / 4_000)
  const count = 3 + wave(7, step, 6)
  const since = lastChange(now, 4_000)
  if (updatedSince !== undefined && since <= updatedSince) return []
  return Array.from({ length: count }, (_, i) => {
    const skill = SKILLS[wave(i, step, SKILLS.length)]
    return {
      contactId: 900_000 + step * 10 + i,
      masterContactId: 900_000 + step * 10 + i,
      skillId: skill?.skillId,
      skillName: skill?.skillName,
      mediaTypeId: skill?.mediaTypeId,
      agentId: AGENTS[wave(i + 1, step, AGENTS.length)]?.agentId,
      stateId: 4,
      stateName: 'Active',
      startDate: new Date(now - wave(i + 2, step, 600) * 1000).toISOString(),
      lastUpdateTime: new Date(since).toISOString()
    }
  })
}
