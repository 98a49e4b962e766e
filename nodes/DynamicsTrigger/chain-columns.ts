import type { INodeParameters, IPollFunctions } from 'n8n-workflow';

/** Where each node of the chain names the Dynamics columns it uses. */
const USES: Record<string, { collection: string; rows: string; field: string }> = {
	recordFilter: { collection: 'rules', rows: 'rule', field: 'field' },
	fieldReplacement: { collection: 'replacements', rows: 'replacement', field: 'field' },
	applyFieldMapping: { collection: 'fieldMappings', rows: 'mapping', field: 'dynamicsField' },
};

function namedColumns(parameters: INodeParameters | undefined, uses: (typeof USES)[string]) {
	const collection = parameters?.[uses.collection] as INodeParameters | undefined;
	const rows = collection?.[uses.rows];
	if (!Array.isArray(rows)) return [];
	return rows
		.map((row) => (row as INodeParameters)[uses.field])
		.filter((v): v is string => typeof v === 'string' && v !== '' && !v.startsWith('='));
}

/**
 * The Dynamics columns that the Record Filter, Field Replacement and Apply Field Mapping nodes
 * after this trigger use, so that a Columns list leaving one out still reads it: a column that was
 * not read is unknown, and a filter must never judge (and delete) on it. A column given by an
 * expression cannot be known here; the node using it refuses records that lack it.
 * n8n versions without `getChildNodes` give an empty list (the same refusal then applies).
 */
export function columnsUsedDownstream(ctx: IPollFunctions): string[] {
	if (typeof ctx.getChildNodes !== 'function') return [];
	const used = new Set<string>();
	for (const child of ctx.getChildNodes(ctx.getNode().name, { includeNodeParameters: true })) {
		const uses = USES[child.type.split('.').pop() ?? ''];
		if (!uses || child.disabled) continue;
		for (const column of namedColumns(child.parameters, uses)) used.add(column);
	}
	return [...used];
}
