import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { CampaignRecord } from '../../lib/campaign/client';
import { findByKey, resolveKeyAccess, type KeyAccess } from '../../lib/campaign/keys';
import { resolveOptOutFields } from '../../lib/campaign/optout-fields';
import type { DataverseClient, DataverseRow } from '../../lib/dynamics/client';
import { mapWithConcurrency } from '../../lib/http/limiter';
import {
	optOutPairKey,
	resolveOptOut,
	validateOptOutMappings,
	type OptOutDecision,
	type OptOutDirection,
	type OptOutMapping,
} from '../../lib/sync/optout';
import { campaignClient, dataverseClient } from '../shared/clients';
import { toNodeError } from '../shared/errors';
import {
	CONTACT_ID,
	CONTACT_TABLE,
	PROFILE_KEY,
	PROFILE_RESOURCE,
	readCampaignChanges,
	readDynamicsChanges,
} from './read';
import { decodeMemory, encodeMemory, readState, writeState, type OptInOutState } from './state';

/** The summary item of one cycle (the last item of the output). */
export interface OptInOutSummary {
	direction: OptOutDirection;
	contactsRead: number;
	contactsDeleted: number;
	profilesRead: number;
	pairsChecked: number;
	writtenToDynamics: number;
	writtenToCampaign: number;
	conflicts: { total: number; dynamicsWon: number; campaignWon: number; optedOutWon: number };
	/** Pairs whose values were already equal (including values this node wrote earlier). */
	unchanged: number;
	profilesWithoutContact: number;
	contactsWithoutProfile: number;
	profilesWithoutExternalId: number;
	errors: number;
	changeDetection?: 'changeTracking' | 'modifiedOn';
	notice?: string;
}

/** One record's decisions: why each flag moved, or did not. */
export interface OptInOutRecordItem {
	contactid: string;
	profilePKey?: string;
	outcome: 'written' | 'conflict' | 'profileWithoutContact' | 'contactDeleted' | 'failed';
	decisions: OptOutDecision[];
	error?: string;
}

const CONCURRENCY = 4;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const NOTICE_DYNAMICS_TO_CAMPAIGN =
	'Direction is Dynamics 365 to Campaign: this node moves nothing. Map the opt-in/out fields in the contact → profile mapping of the Dynamics 365 to Campaign workflow (Apply Field Mapping).';

function emptySummary(direction: OptOutDirection): OptInOutSummary {
	return {
		direction,
		contactsRead: 0,
		contactsDeleted: 0,
		profilesRead: 0,
		pairsChecked: 0,
		writtenToDynamics: 0,
		writtenToCampaign: 0,
		conflicts: { total: 0, dynamicsWon: 0, campaignWon: 0, optedOutWon: 0 },
		unchanged: 0,
		profilesWithoutContact: 0,
		contactsWithoutProfile: 0,
		profilesWithoutExternalId: 0,
		errors: 0,
	};
}

function readMappings(ctx: IExecuteFunctions): OptOutMapping[] {
	const raw = ctx.getNodeParameter('mappings', 0, {}) as IDataObject;
	const rows = (Array.isArray(raw.mapping) ? raw.mapping : []) as IDataObject[];
	return rows.map((r) => ({
		dynamicsField: String(r.dynamicsField ?? '').trim(),
		campaignField: String(r.campaignField ?? '').trim(),
	}));
}

async function checkMappings(
	ctx: IExecuteFunctions,
	client: DataverseClient,
	mappings: OptOutMapping[],
): Promise<void> {
	if (!mappings.length) {
		throw new NodeOperationError(ctx.getNode(), 'Add at least one row to Mappings', {
			description:
				'With this direction, Mappings says which Dynamics 365 boolean field pairs with which Campaign opt-out field.',
		});
	}
	const problems = validateOptOutMappings(mappings);
	const columns = await client.getColumns(CONTACT_TABLE);
	mappings.forEach((m, i) => {
		const column = columns.find((c) => c.logicalName === m.dynamicsField);
		if (m.dynamicsField && !column) {
			problems.push(
				`Mappings › row ${i + 1}: the contact table has no column "${m.dynamicsField}".`,
			);
		} else if (column && column.type !== 'Boolean') {
			problems.push(
				`Mappings › row ${i + 1}: contact column "${m.dynamicsField}" is of type ${column.type}; choose a boolean (Yes/No) column.`,
			);
		}
	});
	if (problems.length) {
		throw new NodeOperationError(
			ctx.getNode(),
			`The opt-in/out mappings need fixing: ${problems[0]}`,
			{
				description: problems.join(' '),
			},
		);
	}
}

/** The flags of a row by mapping field name, read from the row's own names (`wireOf`). */
function flagValues(
	row: Record<string, unknown>,
	fields: string[],
	wireOf: (field: string) => string = (field) => field,
): Record<string, unknown> {
	const values: Record<string, unknown> = {};
	for (const f of fields) values[f] = row[wireOf(f)];
	return values;
}

interface PairWork {
	id: string;
	contact?: DataverseRow;
	profile?: CampaignRecord;
	contactDeleted: boolean;
	duplicateProfiles: boolean;
}

export async function runOptInOutSync(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const node = this.getNode();
	const direction = this.getNodeParameter('direction', 0) as OptOutDirection;
	const options = this.getNodeParameter('options', 0, {}) as IDataObject;
	const pageSize = Math.min(1000, Math.max(1, Math.floor(Number(options.pageSize ?? 500))));
	const summary = emptySummary(direction);
	const summaryItem = (): INodeExecutionData => ({
		json: { _summary: summary as unknown as IDataObject },
		pairedItem: { item: 0 },
	});

	if (direction === 'disabled') {
		summary.notice = 'Opt-in/out synchronization is disabled: nothing moved.';
		return [[summaryItem()]];
	}
	if (direction === 'dynamicsToCampaign') {
		summary.notice = NOTICE_DYNAMICS_TO_CAMPAIGN;
		return [[summaryItem()]];
	}

	const mappings = readMappings(this);
	const dynamics = await dataverseClient(this, { maxPageSize: pageSize });
	const campaign = await campaignClient(this);
	let profileType;
	let wireNames: Map<string, string>;
	try {
		await checkMappings(this, dynamics, mappings);
		profileType = await campaign.resourceType(PROFILE_RESOURCE);
		// The UI speaks the spec's names; the profile answers with its own spelling of them.
		const wire = resolveOptOutFields(
			profileType,
			mappings.map((m) => m.campaignField),
		);
		wireNames = new Map([...wire].map(([name, w]) => [name, w.field]));
	} catch (error) {
		throw toNodeError(node, error);
	}
	const dynamicsFields = [...new Set(mappings.map((m) => m.dynamicsField))];
	const campaignFields = [...new Set(mappings.map((m) => m.campaignField))];
	const wireOf = (name: string) => wireNames.get(name) ?? name;
	let keyAccess: Promise<KeyAccess> | undefined;
	const profileKey = () =>
		(keyAccess ??= resolveKeyAccess(campaign, PROFILE_RESOURCE, PROFILE_KEY, {}, profileType));

	const staticData = this.getWorkflowStaticData('node');
	const state = adoptMappings(readState(staticData), mappings);

	let dynamicsChanges;
	let campaignChanges;
	try {
		dynamicsChanges = await readDynamicsChanges(dynamics, state, dynamicsFields, pageSize);
		campaignChanges = await readCampaignChanges(campaign, state, pageSize);
	} catch (error) {
		throw toNodeError(node, error);
	}
	summary.changeDetection = dynamicsChanges.mode;
	summary.contactsRead = dynamicsChanges.contacts.size;
	summary.contactsDeleted = dynamicsChanges.deleted.size;
	summary.profilesRead = campaignChanges.read;
	summary.profilesWithoutExternalId = campaignChanges.withoutExternalId;

	// Every contact or profile that changed, plus the pairs that failed last time.
	const ids = new Set<string>([
		...[...dynamicsChanges.contacts.keys()].map((id) => id.toLowerCase()),
		...dynamicsChanges.deleted,
		...campaignChanges.profiles.keys(),
		...state.retry,
	]);
	const contactsById = new Map(
		[...dynamicsChanges.contacts].map(([id, row]) => [id.toLowerCase(), row]),
	);
	const deleted = new Set([...dynamicsChanges.deleted].map((id) => id.toLowerCase()));

	const items: INodeExecutionData[] = [];
	const failures: string[] = [];
	const retry: string[] = [];
	const continueOnFail = this.continueOnFail();
	const pairKeys = state.pairKeys;

	const results = await mapWithConcurrency([...ids], CONCURRENCY, async (id) => {
		const work: PairWork = {
			id,
			contact: contactsById.get(id),
			profile: campaignChanges.profiles.get(id),
			contactDeleted: deleted.has(id),
			duplicateProfiles: campaignChanges.duplicates.has(id),
		};
		try {
			return await syncPair(work);
		} catch (error) {
			const failed = toNodeError(node, error, { recordId: id }).message;
			return { id, failed, profile: work.profile } as const;
		}
	});

	async function syncPair(work: PairWork) {
		const { id } = work;
		if (!work.contact && !work.contactDeleted && !GUID.test(id)) {
			// An externalId that is no contact id cannot name a contact.
			work.contactDeleted = true;
		}
		if (!work.contact && !work.contactDeleted) {
			work.contact = await dynamics.retrieve(CONTACT_TABLE, id, {
				select: [CONTACT_ID, 'modifiedon', ...dynamicsFields],
				formattedValues: false,
			});
			if (!work.contact) work.contactDeleted = true;
		}
		if (!work.profile && !work.duplicateProfiles && !work.contactDeleted) {
			const found = await findByKey(campaign, await profileKey(), id);
			if (found.length > 1) work.duplicateProfiles = true;
			work.profile = found[0];
		}
		if (work.duplicateProfiles) {
			throw new NodeOperationError(
				node,
				`Several Campaign profiles have externalId ${id}: keep one, then the flags sync again`,
			);
		}
		const previous = decodeMemory(state.memory[id], pairKeys);
		const resolution = resolveOptOut({
			direction,
			mappings,
			contact: work.contact
				? {
						values: flagValues(work.contact, dynamicsFields),
						modifiedOn: String(work.contact.modifiedon ?? ''),
					}
				: undefined,
			profile: work.profile
				? {
						values: flagValues(work.profile, campaignFields, wireOf),
						lastModified: String(work.profile.lastModified ?? ''),
					}
				: undefined,
			previous,
		});
		const toDynamics: Record<string, boolean> = {};
		const toCampaign: Record<string, boolean> = {};
		for (const d of resolution.decisions) {
			if (d.write === 'dynamics') toDynamics[d.dynamicsField] = d.value === true;
			if (d.write === 'campaign') toCampaign[wireOf(d.campaignField)] = d.value === true;
		}
		if (Object.keys(toDynamics).length) await dynamics.update(CONTACT_TABLE, id, toDynamics);
		if (Object.keys(toCampaign).length && work.profile) {
			const href =
				typeof work.profile.href === 'string'
					? work.profile.href
					: campaign.recordHref(PROFILE_RESOURCE, String(work.profile.PKey));
			await campaign.patch(href, toCampaign);
		}
		return { id, work, resolution, toDynamics, toCampaign } as const;
	}

	for (const result of results) {
		const id = result.id;
		if ('failed' in result) {
			summary.errors += 1;
			retry.push(id);
			failures.push(`contact ${id}: ${result.failed}`);
			if (continueOnFail) {
				const failed: OptInOutRecordItem = {
					contactid: id,
					...(result.profile?.PKey ? { profilePKey: String(result.profile.PKey) } : {}),
					outcome: 'failed',
					decisions: [],
					error: result.failed,
				};
				// n8n routes an item whose json is only { error, details } to the error output (when it
				// is on) and keeps that json; an item-level `error` would reduce it to the message alone.
				items.push({
					json: { error: result.failed, details: failed as unknown as IDataObject },
					pairedItem: { item: 0 },
				});
			}
			continue;
		}
		const { work, resolution, toDynamics, toCampaign } = result;
		const base = {
			contactid: id,
			...(work.profile?.PKey ? { profilePKey: String(work.profile.PKey) } : {}),
			decisions: resolution.decisions,
		};
		if (work.contactDeleted) {
			const known = state.memory[id] !== undefined;
			// The pair is gone: forget it, so a contact recreated with this id starts fresh.
			delete state.memory[id];
			if (deleted.has(id)) {
				if (known || work.profile) {
					items.push({ json: { ...base, outcome: 'contactDeleted' }, pairedItem: { item: 0 } });
				}
			} else if (work.profile) {
				summary.profilesWithoutContact += 1;
				items.push({
					json: { ...base, outcome: 'profileWithoutContact' },
					pairedItem: { item: 0 },
				});
			}
			continue;
		}
		if (!work.profile) {
			summary.contactsWithoutProfile += 1;
			continue;
		}
		summary.pairsChecked += 1;
		state.memory[id] = encodeMemory(resolution.next, pairKeys);
		const dCount = Object.keys(toDynamics).length;
		const cCount = Object.keys(toCampaign).length;
		if (dCount) summary.writtenToDynamics += 1;
		if (cCount) summary.writtenToCampaign += 1;
		const conflicts = resolution.decisions.filter(
			(d) => d.rule === 'conflictNewerWins' || d.rule === 'conflictOptedOutWins',
		);
		for (const c of conflicts) {
			summary.conflicts.total += 1;
			if (c.rule === 'conflictOptedOutWins') summary.conflicts.optedOutWon += 1;
			else if (c.write === 'campaign') summary.conflicts.dynamicsWon += 1;
			else summary.conflicts.campaignWon += 1;
		}
		if (!dCount && !cCount) {
			summary.unchanged += 1;
			continue;
		}
		const outcome = conflicts.length ? 'conflict' : 'written';
		items.push({ json: { ...base, outcome }, pairedItem: { item: 0 } });
	}

	state.retry = retry;
	if (dynamicsChanges.mode === 'changeTracking') state.deltaLink = dynamicsChanges.deltaLink;
	else state.dynamicsSince = dynamicsChanges.since;
	state.campaignSince = campaignChanges.since;
	writeState(staticData, state);

	if (dynamicsChanges.resynced) {
		summary.notice =
			'The Dynamics 365 change-tracking token had expired: every contact was read again (nothing is lost).';
	}
	if (failures.length && !continueOnFail) {
		throw new NodeOperationError(
			node,
			`Opt-in/out sync failed for ${failures.length} record(s); the others were written`,
			{ description: failures.slice(0, 20).join('\n') },
		);
	}
	items.push(summaryItem());
	return [items];
}

/**
 * Ties the state to the current mappings: memory digits follow the mapping order, and a changed
 * set of mappings reads everything once so new pairs are aligned.
 */
function adoptMappings(state: OptInOutState, mappings: OptOutMapping[]): OptInOutState {
	const pairKeys = mappings.map(optOutPairKey);
	const settings = pairKeys.join(',');
	if (state.settings === settings) return state;
	const memory: Record<string, string> = {};
	for (const [id, code] of Object.entries(state.memory)) {
		memory[id] = encodeMemory(decodeMemory(code, state.pairKeys), pairKeys);
	}
	return { version: 1, pairKeys, memory, retry: state.retry, settings };
}
