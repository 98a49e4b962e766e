/**
 * Opt-in/out resolution between a Dynamics contact and its Campaign profile (matched by
 * externalId = contactid). Every field on both sides is "deny"-style: true means opted out.
 *
 * Change is judged against the last synced values of each pair (the echo-loop memory), not against
 * timestamps alone, so a value we wrote ourselves never counts as a change and never bounces back.
 */
import { parseBoolean, parseInstant } from './values';

export type OptOutDirection =
	'disabled' | 'dynamicsToCampaign' | 'campaignToDynamics' | 'bidirectional';

/** Campaign's fixed opt-out fields (the spec: "a fixed set of values ... cannot be changed"). */
export const CAMPAIGN_OPT_OUT_FIELDS = [
	'denyList',
	'denyListEmail',
	'denyListFax',
	'denyListMobile',
	'denyListPhone',
	'denyListPostalMail',
	'denyListPushnotification',
	'ccpaOptOut',
] as const;
export type CampaignOptOutField = (typeof CAMPAIGN_OPT_OUT_FIELDS)[number];

export interface OptOutMapping {
	/** A Dynamics boolean column, e.g. `donotbulkemail`. */
	dynamicsField: string;
	campaignField: CampaignOptOutField | string;
}

/** What both sides held after the last sync of one pair. */
export interface OptOutPairMemory {
	dynamics: boolean;
	campaign: boolean;
	/** The side the last sync wrote to, so its next reading is known as our own echo. */
	wrote?: 'dynamics' | 'campaign';
}

export type OptOutMemory = Record<string, OptOutPairMemory>;

export interface OptOutInput {
	direction: OptOutDirection;
	mappings: OptOutMapping[];
	/** `modifiedOn`: the contact's own date (Dynamics keeps no date per column). */
	contact?: { values: Record<string, unknown>; modifiedOn?: string };
	/**
	 * `flagModified`: Campaign's date of each opt-out field (`blackListEmailLastModified`, …), by
	 * the mapping's Campaign field; `lastModified` (the profile's date) stands in where one is missing.
	 */
	profile?: {
		values: Record<string, unknown>;
		lastModified?: string;
		flagModified?: Record<string, string | undefined>;
	};
	previous?: OptOutMemory;
}

export type OptOutWrite = 'dynamics' | 'campaign' | 'none';

/** Which rule decided a flag: code reads this, people read `reason`. */
export type OptOutRule =
	| 'disabled'
	| 'unpaired'
	| 'unknownValue'
	| 'inSync'
	| 'echo'
	/** The two sides differ and no change was seen: the opted-out side wins, whatever the dates. */
	| 'optedOutWins'
	| 'dynamicsChanged'
	| 'campaignChanged'
	/** Both sides changed: the newer change of that flag wins. */
	| 'conflictNewerWins'
	/** Both sides changed at the same instant (or a date is unknown): opted out wins. */
	| 'conflictOptedOutWins'
	/** An opted-out side the direction does not move, or an opt-in nobody was seen making. */
	| 'notMoved';

export interface OptOutDecision {
	dynamicsField: string;
	campaignField: string;
	write: OptOutWrite;
	/** The value to write (when write is not 'none'). */
	value?: boolean;
	rule: OptOutRule;
	/**
	 * A conflict's change dates as compared (ISO instants; absent where unknown): equal dates are a
	 * tie, a missing one leaves the opted-out value to win.
	 */
	dates?: { dynamics?: string; campaign?: string };
	reason: string;
}

export interface OptOutResolution {
	decisions: OptOutDecision[];
	/** Memory to store once the writes succeeded. */
	next: OptOutMemory;
}

export function optOutPairKey(mapping: OptOutMapping): string {
	return `${mapping.dynamicsField}>${mapping.campaignField}`;
}

export function validateOptOutMappings(mappings: OptOutMapping[]): string[] {
	const problems: string[] = [];
	const allowed = new Set<string>(CAMPAIGN_OPT_OUT_FIELDS);
	const seen = new Map<string, string>();
	mappings.forEach((m, i) => {
		const where = `Mappings › row ${i + 1}`;
		if (!m.dynamicsField) problems.push(`${where}: choose a Dynamics boolean field.`);
		if (!allowed.has(m.campaignField)) {
			problems.push(
				`${where}: "${m.campaignField}" is not a Campaign opt-out field. Use one of: ${CAMPAIGN_OPT_OUT_FIELDS.join(', ')}.`,
			);
		}
		const other = seen.get(m.campaignField);
		if (other !== undefined) {
			problems.push(
				`${where}: Dynamics fields "${other}" and "${m.dynamicsField}" both map to Campaign field "${m.campaignField}". Map it once.`,
			);
		} else seen.set(m.campaignField, m.dynamicsField);
		// One Dynamics flag fed by two Campaign flags would flip between them on every cycle.
		const twice = mappings.findIndex((o) => o.dynamicsField === m.dynamicsField);
		if (m.dynamicsField && twice < i) {
			problems.push(
				`${where}: Dynamics field "${m.dynamicsField}" is already mapped in row ${twice + 1}. Map it once.`,
			);
		}
	});
	return problems;
}

/**
 * A flag as a side holds it: true is opted out. An empty value (null, '') is a known "no"; a field
 * the answer does not carry is unknown (undefined), and an unknown value never moves a flag.
 */
function flag(values: Record<string, unknown>, field: string): boolean | undefined {
	if (!(field in values)) return undefined;
	const value = values[field];
	if (value === null || value === '') return false;
	return parseBoolean(value);
}

function formatTime(ms: number): string {
	return new Date(ms).toISOString();
}

const SIDE_NAME = { dynamics: 'Dynamics 365', campaign: 'Campaign' } as const;

/**
 * Decides each mapped flag of one contact/profile pair. The rules, in order:
 * - equal values move nothing;
 * - a flag moves from opted out to opted in on the other side only when this side was seen
 *   changing it from opted out to opted in since the last cycle (the memory holds what each side
 *   showed then); without such a sighting the opted-out value wins, whatever the dates;
 * - when both sides changed a flag, the newer change of that flag wins (Campaign's date of the
 *   field against the contact's modified date), opted out winning a tie or an unknown date;
 * - Campaign → Dynamics overwrites Dynamics when the Campaign flag changed, as the spec says.
 */
export function resolveOptOut(input: OptOutInput): OptOutResolution {
	const decisions: OptOutDecision[] = [];
	const next: OptOutMemory = { ...input.previous };
	for (const m of input.mappings) {
		const base = { dynamicsField: m.dynamicsField, campaignField: m.campaignField };
		const none = (rule: OptOutRule, reason: string): OptOutDecision => ({
			...base,
			write: 'none',
			rule,
			reason,
		});
		if (input.direction === 'disabled') {
			decisions.push(none('disabled', 'opt-in/out sync is disabled'));
			continue;
		}
		if (!input.contact || !input.profile) {
			decisions.push(
				none(
					'unpaired',
					input.contact
						? 'no Campaign profile for this contact'
						: 'no Dynamics contact for this profile',
				),
			);
			continue;
		}
		const key = optOutPairKey(m);
		const d = flag(input.contact.values, m.dynamicsField);
		const c = flag(input.profile.values, m.campaignField);
		if (d === undefined || c === undefined) {
			const side =
				d === undefined ? `Dynamics 365 "${m.dynamicsField}"` : `Campaign "${m.campaignField}"`;
			decisions.push(none('unknownValue', `${side} was not in the answer: nothing moved`));
			continue;
		}
		// No memory means nothing opted out was seen on either side: a pair is remembered only once
		// a flag is opted out, so an opted-out value without memory is a change to opted out.
		const prev = input.previous?.[key];
		const seen = prev ?? { dynamics: false, campaign: false };
		const dChanged = seen.dynamics !== d;
		const cChanged = seen.campaign !== c;
		const write = (
			to: 'dynamics' | 'campaign',
			rule: OptOutRule,
			reason: string,
		): OptOutDecision => ({
			...base,
			write: to,
			value: to === 'campaign' ? d : c,
			rule,
			reason,
		});
		const optedOutSide = d ? 'dynamics' : 'campaign';
		const otherSide = d ? 'campaign' : 'dynamics';

		let decision: OptOutDecision;
		if (d === c) {
			decision =
				prev?.wrote && !dChanged && !cChanged
					? none('echo', 'echo of our own write')
					: none('inSync', 'in sync');
		} else if (input.direction === 'dynamicsToCampaign') {
			decision = dChanged
				? write('campaign', 'dynamicsChanged', 'dynamics changed')
				: none('notMoved', 'campaign differs; direction is Dynamics → Campaign');
		} else if (input.direction === 'campaignToDynamics') {
			// The spec's warning: a Campaign change overwrites a manual Dynamics edit.
			decision = cChanged
				? write('dynamics', 'campaignChanged', 'campaign changed')
				: none(
						'notMoved',
						d
							? 'Dynamics 365 is opted out; direction is Campaign → Dynamics, and Campaign was not seen opting in'
							: 'dynamics changed; direction is Campaign → Dynamics',
					);
		} else if (dChanged && !cChanged) {
			decision = write('campaign', 'dynamicsChanged', 'dynamics changed');
		} else if (cChanged && !dChanged) {
			decision = write('dynamics', 'campaignChanged', 'campaign changed');
		} else if (dChanged && cChanged) {
			decision = resolveConflict(
				d,
				input.contact.modifiedOn,
				input.profile.flagModified?.[m.campaignField] ?? input.profile.lastModified,
				write,
			);
		} else {
			// The sides differ and neither was seen changing (left apart by an earlier direction or a
			// failed write): the opt-out stands until someone is seen opting in.
			decision = write(
				otherSide,
				'optedOutWins',
				`the sides differ and neither was seen changing: opted out in ${SIDE_NAME[optedOutSide]} wins`,
			);
		}
		decisions.push(decision);
		next[key] =
			decision.write === 'campaign'
				? { dynamics: d, campaign: d, wrote: 'campaign' }
				: decision.write === 'dynamics'
					? { dynamics: c, campaign: c, wrote: 'dynamics' }
					: { dynamics: d, campaign: c };
	}
	return { decisions, next };
}

function resolveConflict(
	d: boolean,
	dynamicsModified: string | undefined,
	campaignModified: string | undefined,
	write: (to: 'dynamics' | 'campaign', rule: OptOutRule, reason: string) => OptOutDecision,
): OptOutDecision {
	const dt = parseInstant(dynamicsModified);
	const ct = parseInstant(campaignModified);
	const dates = {
		...(dt !== undefined ? { dynamics: formatTime(dt) } : {}),
		...(ct !== undefined ? { campaign: formatTime(ct) } : {}),
	};
	return { ...decideConflict(d, dt, ct, write), dates };
}

function decideConflict(
	d: boolean,
	dt: number | undefined,
	ct: number | undefined,
	write: (to: 'dynamics' | 'campaign', rule: OptOutRule, reason: string) => OptOutDecision,
): OptOutDecision {
	if (dt !== undefined && ct !== undefined && dt !== ct) {
		return ct > dt
			? write(
					'dynamics',
					'conflictNewerWins',
					`conflict: newer wins (campaign ${formatTime(ct)} > dynamics ${formatTime(dt)})`,
				)
			: write(
					'campaign',
					'conflictNewerWins',
					`conflict: newer wins (dynamics ${formatTime(dt)} > campaign ${formatTime(ct)})`,
				);
	}
	const why = dt === undefined || ct === undefined ? 'conflict, a date is missing' : 'conflict tie';
	// Opted out (true) wins: the side holding true is the source.
	return d
		? write('campaign', 'conflictOptedOutWins', `${why}: opted-out wins`)
		: write('dynamics', 'conflictOptedOutWins', `${why}: opted-out wins`);
}
