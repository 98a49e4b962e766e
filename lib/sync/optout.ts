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
	contact?: { values: Record<string, unknown>; modifiedOn?: string };
	profile?: { values: Record<string, unknown>; lastModified?: string };
	previous?: OptOutMemory;
}

export type OptOutWrite = 'dynamics' | 'campaign' | 'none';

export interface OptOutDecision {
	dynamicsField: string;
	campaignField: string;
	write: OptOutWrite;
	/** The value to write (when write is not 'none'). */
	value?: boolean;
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

/** A missing or empty flag means "not opted out". */
function flag(values: Record<string, unknown>, field: string): boolean {
	return parseBoolean(values[field]) ?? false;
}

function formatTime(ms: number): string {
	return new Date(ms).toISOString();
}

export function resolveOptOut(input: OptOutInput): OptOutResolution {
	const decisions: OptOutDecision[] = [];
	const next: OptOutMemory = { ...input.previous };
	const none = (m: OptOutMapping, reason: string): OptOutDecision => ({
		dynamicsField: m.dynamicsField,
		campaignField: m.campaignField,
		write: 'none',
		reason,
	});

	for (const m of input.mappings) {
		if (input.direction === 'disabled') {
			decisions.push(none(m, 'opt-in/out sync is disabled'));
			continue;
		}
		if (!input.contact || !input.profile) {
			decisions.push(
				none(
					m,
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
		const prev = input.previous?.[key];
		// Without memory both sides count as changed: the first sync aligns them.
		const dChanged = !prev || prev.dynamics !== d;
		const cChanged = !prev || prev.campaign !== c;
		const toCampaign = (reason: string): OptOutDecision => ({
			dynamicsField: m.dynamicsField,
			campaignField: m.campaignField,
			write: 'campaign',
			value: d,
			reason,
		});
		const toDynamics = (reason: string): OptOutDecision => ({
			dynamicsField: m.dynamicsField,
			campaignField: m.campaignField,
			write: 'dynamics',
			value: c,
			reason,
		});

		let decision: OptOutDecision;
		if (d === c) {
			decision = none(
				m,
				prev?.wrote && !dChanged && !cChanged ? 'echo of our own write' : 'in sync',
			);
		} else if (input.direction === 'dynamicsToCampaign') {
			decision = dChanged
				? toCampaign('dynamics changed')
				: none(m, 'campaign changed; direction is Dynamics → Campaign');
		} else if (input.direction === 'campaignToDynamics') {
			// The spec's warning: a Campaign change overwrites a manual Dynamics edit.
			decision = cChanged
				? toDynamics('campaign changed')
				: none(m, 'dynamics changed; direction is Campaign → Dynamics');
		} else if (dChanged && !cChanged) {
			decision = toCampaign('dynamics changed');
		} else if (cChanged && !dChanged) {
			decision = toDynamics('campaign changed');
		} else {
			decision = resolveConflict(
				d,
				input.contact.modifiedOn,
				input.profile.lastModified,
				toCampaign,
				toDynamics,
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
	toCampaign: (reason: string) => OptOutDecision,
	toDynamics: (reason: string) => OptOutDecision,
): OptOutDecision {
	const dt = parseInstant(dynamicsModified);
	const ct = parseInstant(campaignModified);
	if (dt !== undefined && ct !== undefined && dt !== ct) {
		return ct > dt
			? toDynamics(`conflict: newer wins (campaign ${formatTime(ct)} > dynamics ${formatTime(dt)})`)
			: toCampaign(
					`conflict: newer wins (dynamics ${formatTime(dt)} > campaign ${formatTime(ct)})`,
				);
	}
	const why =
		dt === undefined || ct === undefined ? 'conflict, a timestamp is missing' : 'conflict tie';
	// Opted-out (true) wins: the side holding true is the source.
	return d ? toCampaign(`${why}: opted-out wins`) : toDynamics(`${why}: opted-out wins`);
}
