/**
 * The four activity tables in Dynamics 365: checked before anything is written (each table, the
 * columns the node writes, the alternate key on the event id and its index status), and, when
 * "Create Missing Activity Tables" is on, created through the Web API's metadata
 * (webapi/create-update-entity-definitions-using-web-api.md, custom-activities.md,
 * define-alternate-keys-entity.md). A new key's index is built in the background: the node waits
 * (bounded) until it is Active, since an upsert by a key that is not Active cannot work.
 */
import {
	activityTableDefinition,
	alternateKeyDefinition,
	dateTimeColumnDefinition,
	entityDefinitionPath,
	textColumnDefinition,
} from '../../dynamics/customize';
import type { DataverseClient, TableInfo } from '../../dynamics/client';
import { DataverseApiError } from '../../dynamics/errors';
import { DEFAULT_RETRY_POLICY } from '../../http/retry';
import { SyncSettingsError } from '../../sync/errors';
import { activityTableSpec, type ActivityTableSpec, type EmailEventType } from '../../sync/events';
import { COLUMN_SETTING, TABLE_SETTING, type ExportSettings } from './settings';

/** Longest wait for new key indexes in one run; the next run checks again. */
const KEY_WAIT_MS = 60_000;
const SETUP = 'docs/CAMPAIGN-SETUP.md';

export interface Targets {
	entitySets: Map<EmailEventType, string>;
	/** What this run created, e.g. `table adobe_emailsend`. */
	created: string[];
}

/** A name the node may create: a custom name carries a publisher prefix (`adobe_emailsend`). */
const isCustomName = (name: string) => /^[a-z][a-z0-9]*_[a-z0-9_]+$/.test(name);

async function tableOrNone(
	dataverse: DataverseClient,
	table: string,
): Promise<TableInfo | undefined> {
	const found = await dataverse.getTable(table).then(
		(info) => info,
		(error: unknown) => error,
	);
	if (found instanceof DataverseApiError && found.status === 404) return undefined;
	if (found instanceof Error) throw found;
	return found as TableInfo;
}

const WRITABLE: Record<string, ReadonlySet<string>> = {
	text: new Set(['String', 'Memo']),
	url: new Set(['String', 'Memo']),
	dateTime: new Set(['DateTime']),
};

/** Checks (and creates, when asked) one table, its columns and its key; returns the problems. */
async function prepareTable(
	dataverse: DataverseClient,
	spec: ActivityTableSpec,
	settingName: string,
	create: boolean,
	created: string[],
): Promise<{ info?: TableInfo; problems: string[] }> {
	const problems: string[] = [];
	const { table } = spec;
	const createdBefore = created.length;
	let info = await tableOrNone(dataverse, table);
	if (!info) {
		if (!create) return { problems: [`the table "${table}" (${settingName}) does not exist`] };
		if (!isCustomName(table)) {
			return {
				problems: [
					`the table "${table}" (${settingName}) does not exist, and the node creates only custom tables, whose names start with a publisher prefix (e.g. adobe_emailsend)`,
				],
			};
		}
		await dataverse.createMetadata(
			'EntityDefinitions',
			activityTableDefinition({
				schemaName: table,
				displayName: spec.displayName,
				collectionName: spec.collectionName,
				description: `${spec.displayName}: written by n8n's Email Events Export from Adobe Campaign`,
				subjectMaxLength: spec.subjectMaxLength,
			}),
		);
		created.push(`table ${table}`);
		info = await dataverse.getTable(table);
	}
	const path = entityDefinitionPath(table);
	const columns = new Map((await dataverse.getColumns(table)).map((c) => [c.logicalName, c]));
	for (const column of spec.columns) {
		const setting = `Activity Columns › ${COLUMN_SETTING[column.setting]}`;
		const existing = columns.get(column.column);
		if (existing) {
			if (!existing.readable || !WRITABLE[column.kind].has(existing.type)) {
				problems.push(
					`${setting}: the column "${table}.${column.column}" is a ${existing.type} column that cannot hold the ${column.displayName.toLowerCase()}`,
				);
			}
			continue;
		}
		if (!create || !isCustomName(table) || !isCustomName(column.column)) {
			problems.push(`${setting}: the table "${table}" has no column "${column.column}"`);
			continue;
		}
		await dataverse.createMetadata(
			`${path}/Attributes`,
			column.kind === 'dateTime'
				? dateTimeColumnDefinition({ schemaName: column.column, displayName: column.displayName })
				: textColumnDefinition({
						schemaName: column.column,
						displayName: column.displayName,
						maxLength: column.maxLength ?? 100,
						format: column.kind === 'url' ? 'Url' : 'Text',
					}),
		);
		created.push(`column ${table}.${column.column}`);
	}
	const keyed = (info.alternateKeys ?? []).some(
		(k) => k.columns.length === 1 && k.columns[0] === spec.keyColumn,
	);
	if (!keyed) {
		if (!create || !isCustomName(table)) {
			// First: without the key nothing can be written, whatever the columns.
			problems.unshift(
				`the table "${table}" has no alternate key on the column "${spec.keyColumn}"; events are upserted by their id, so that a re-run never creates a second activity`,
			);
		} else if (
			columns.has(spec.keyColumn) ||
			created.includes(`column ${table}.${spec.keyColumn}`)
		) {
			await dataverse.createMetadata(
				`${path}/Keys`,
				alternateKeyDefinition({
					schemaName: `${table}_eventid_key`,
					displayName: 'Event ID',
					columns: [spec.keyColumn],
				}),
			);
			created.push(`alternate key ${table}_eventid_key`);
		}
	}
	// What was just created shows in fresh metadata (createMetadata dropped the client's cache).
	if (created.length > createdBefore) info = await dataverse.getTable(table);
	return { info, problems };
}

/** Waits until every table's event id key is Active; returns the problems of those that are not. */
async function waitForKeys(
	dataverse: DataverseClient,
	tables: Array<{ spec: ActivityTableSpec; info: TableInfo }>,
	waitMs: number,
): Promise<string[]> {
	// n8n's sleep (nodes may not use timers directly), as the retries wait.
	const { sleep } = DEFAULT_RETRY_POLICY;
	const deadline = Date.now() + waitMs;
	let delay = 250;
	let pending = tables;
	for (let round = 0; ; round++) {
		const waiting: Array<{
			spec: ActivityTableSpec;
			info: TableInfo;
			status: string;
			name: string;
		}> = [];
		const problems: string[] = [];
		for (const { spec, info: known } of pending) {
			// The metadata read for the check is fresh; later rounds ask Dataverse again.
			if (round > 0) dataverse.forgetTable(spec.table);
			const info = round > 0 ? await dataverse.getTable(spec.table) : known;
			const key = (info.alternateKeys ?? []).find(
				(k) => k.columns.length === 1 && k.columns[0] === spec.keyColumn,
			);
			// A key without a status comes from a service that does not report one: usable.
			const status = key?.status ?? 'Active';
			if (!key || status === 'Active') continue;
			if (status === 'Failed') {
				problems.push(
					`the index of the alternate key "${key.name}" of "${spec.table}" failed to build (EntityKeyIndexStatus Failed), e.g. because rows already hold the same "${spec.keyColumn}" twice: remove the duplicates, then reactivate the key (the Web API action ReactivateEntityKey, define-alternate-keys-entity.md) or delete and recreate it`,
				);
			} else {
				waiting.push({ spec, info, status, name: key.name });
			}
		}
		if (!waiting.length) return problems;
		if (Date.now() >= deadline) {
			return [
				...problems,
				...waiting.map(
					(w) =>
						`the alternate key "${w.name}" of "${w.spec.table}" is ${w.status} after waiting ${Math.round(waitMs / 1000)} s: Dynamics 365 is still building its index; the next run checks again`,
				),
			];
		}
		pending = waiting;
		await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
		delay = Math.min(delay * 2, 5000);
	}
}

/**
 * Makes sure the enabled types' tables can take the activities, creating what is missing when
 * the settings say so. Throws, naming every problem, before anything is written.
 */
export async function prepareTargets(
	dataverse: DataverseClient,
	settings: ExportSettings,
	enabled: ReadonlySet<EmailEventType>,
	/** What the node created, added to by this call (kept over a second call). */
	created: string[] = [],
	waitMs = KEY_WAIT_MS,
): Promise<Targets> {
	const problems: string[] = [];
	const entitySets = new Map<EmailEventType, string>();
	const ready: Array<{ spec: ActivityTableSpec; info: TableInfo }> = [];
	for (const type of enabled) {
		const table = settings.tables[type];
		if (!table) {
			throw new SyncSettingsError(
				`The "${TABLE_SETTING[type]}" setting is empty`,
				TABLE_SETTING[type],
				`Choose the Dynamics 365 activity table that receives ${type} events, or switch that event type off.`,
			);
		}
		const spec = activityTableSpec(type, table, settings.columns);
		const found = await prepareTable(
			dataverse,
			spec,
			TABLE_SETTING[type],
			settings.createMissingTables,
			created,
		);
		problems.push(...found.problems);
		if (found.info) {
			entitySets.set(type, found.info.entitySetName);
			if (!found.problems.length) ready.push({ spec, info: found.info });
		}
	}
	if (ready.length) problems.push(...(await waitForKeys(dataverse, ready, waitMs)));
	if (problems.length) {
		const fix = settings.createMissingTables
			? `Fix them in Dynamics 365 (${SETUP}, "Dynamics 365"), or change the table and column settings.`
			: `Switch on "Create Missing Activity Tables" to let the node create the tables, columns and keys, or create them in the maker portal (${SETUP}, "Dynamics 365").`;
		const first = problems[0];
		throw new SyncSettingsError(
			`Dynamics 365 is not ready for the email events: ${first.charAt(0).toUpperCase()}${first.slice(1)}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
			undefined,
			`${problems.map((p) => `- ${p}`).join('\n')}\n${fix}${created.length ? `\nCreated in this run: ${created.join(', ')}.` : ''}`,
		);
	}
	return { entitySets, created };
}
