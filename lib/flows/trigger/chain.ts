/**
 * What the trigger learns from the nodes after it in the workflow (n8n's child nodes, given here as
 * plain data): the columns they use, and the Campaign table and key of the chain's mapping.
 */
import { SyncSettingsError } from '../../sync/errors';
import { locatorValue } from '../settings';

export interface ChainNode {
	/** The node type's last part, e.g. `applyFieldMapping`. */
	type: string;
	disabled: boolean;
	/** Its parameters as stored (a resource locator is an object holding its `value`). */
	parameters: Record<string, unknown>;
}

/** Where each node of the chain names the Dynamics columns it uses. */
const USES: Record<string, { collection: string; rows: string; field: string }> = {
	recordFilter: { collection: 'rules', rows: 'rule', field: 'field' },
	fieldReplacement: { collection: 'replacements', rows: 'replacement', field: 'field' },
	applyFieldMapping: { collection: 'fieldMappings', rows: 'mapping', field: 'dynamicsField' },
};

function namedColumns(parameters: Record<string, unknown>, uses: (typeof USES)[string]) {
	const collection = parameters[uses.collection] as Record<string, unknown> | undefined;
	const rows = collection?.[uses.rows];
	if (!Array.isArray(rows)) return [];
	return rows
		.map((row) => (row as Record<string, unknown>)[uses.field])
		.filter((v): v is string => typeof v === 'string' && v !== '' && !v.startsWith('='));
}

/**
 * The Dynamics columns that the Record Filter, Field Replacement and Apply Field Mapping nodes
 * after this trigger use, so that a Columns list leaving one out still reads it: a column that was
 * not read is unknown, and a filter must never judge (and delete) on it. A column given by an
 * expression cannot be known here; the node using it refuses records that lack it.
 * n8n versions that cannot list the chain give an empty one (the same refusal then applies).
 */
export function columnsUsedDownstream(chain: ChainNode[]): string[] {
	const used = new Set<string>();
	for (const child of chain) {
		const uses = USES[child.type];
		if (!uses || child.disabled) continue;
		for (const column of namedColumns(child.parameters, uses)) used.add(column);
	}
	return [...used];
}

export interface KeyComparisonTarget {
	resource: string;
	key: string;
}

/** A fixed value: a string, or a resource locator's; not an expression. */
function plain(parameter: unknown): string | undefined {
	const value = locatorValue(parameter);
	return typeof value === 'string' && value && !value.startsWith('=') ? value : undefined;
}

/**
 * The Campaign resource and key of the chain, read from the Apply Field Mapping node after this
 * trigger: the key holds the Dynamics id of each record the chain wrote.
 */
export function keyComparisonTarget(chain: ChainNode[]): KeyComparisonTarget {
	const targets = chain
		.filter((n) => !n.disabled && n.type === 'applyFieldMapping')
		.map((n) => ({
			resource: plain(n.parameters.campaignResource),
			key: plain(n.parameters.campaignKey),
		}));
	const target = targets[0];
	if (targets.length !== 1 || !target.resource || !target.key) {
		throw new SyncSettingsError(
			'Deletes Detection › Compare Keys needs exactly one Apply Field Mapping node after this trigger, with a fixed Campaign table and key',
			undefined,
			'The comparison reads the keys of that Campaign table. Connect the chain, or set Deletes Detection to None.',
		);
	}
	return { resource: target.resource, key: target.key };
}
