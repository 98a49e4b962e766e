import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { DYNAMICS_CREDENTIAL, DYNAMICS_CREDENTIAL_LABEL } from '../shared/clients';
import { getColumns, searchColumnValues, searchTables } from '../shared/methods';
import { dynamicsTableProperty } from '../shared/properties';
import { execute } from './execute';

/** How many replacements the node has, in its subtitle. */
const REPLACEMENTS = '(($parameter["replacements"] || {})["replacement"] || []).length';

export class FieldReplacement implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dynamics Field Replacement',
		name: 'fieldReplacement',
		icon: { light: 'file:../icons/replace.svg', dark: 'file:../icons/replace.dark.svg' },
		group: ['transform'],
		version: 1,
		usableAsTool: true,
		subtitle: `={{${REPLACEMENTS} === 0 ? "No Replacements" : ${REPLACEMENTS} === 1 ? "1 Replacement" : ${REPLACEMENTS} + " Replacements"}}`,
		description:
			'Replaces values of Microsoft Dynamics 365 fields with the values to write to Adobe Campaign Standard',
		defaults: { name: 'Field Replacement' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: DYNAMICS_CREDENTIAL, required: true, displayName: DYNAMICS_CREDENTIAL_LABEL },
		],
		properties: [
			dynamicsTableProperty,
			{
				displayName: 'Field Replacements',
				name: 'replacements',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				placeholder: 'Add New Field Replacement',
				default: {},
				options: [
					{
						displayName: 'Field Replacement',
						name: 'replacement',
						values: [
							{
								displayName: 'Dynamics 365 Field Name or ID',
								name: 'field',
								type: 'options',
								typeOptions: {
									loadOptionsMethod: 'getColumns',
									loadOptionsDependsOn: ['table.value'],
								},
								default: '',
								description:
									'A field added in the field mappings of this table. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
							},
							{
								displayName: 'Existing Value',
								name: 'existingValue',
								type: 'resourceLocator',
								default: { mode: 'value', value: '' },
								description:
									'A value that exists in Dynamics 365: from the list for picklist, status and boolean fields, typed for other fields',
								modes: [
									{
										displayName: 'From List',
										name: 'list',
										type: 'list',
										typeOptions: { searchListMethod: 'searchColumnValues', searchable: true },
									},
									{
										displayName: 'Value',
										name: 'value',
										type: 'string',
										placeholder: 'e.g. 2 or Female',
									},
								],
							},
							{
								displayName: 'New Value',
								name: 'newValue',
								type: 'string',
								default: '',
								description: 'The value to write to Campaign instead',
							},
						],
					},
				],
			},
		],
	};

	methods = {
		loadOptions: { getColumns },
		listSearch: { searchColumnValues, searchTables },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await execute.call(this);
	}
}
