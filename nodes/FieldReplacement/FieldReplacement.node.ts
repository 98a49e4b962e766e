import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { DYNAMICS_CREDENTIAL } from '../shared/clients';
import { getColumns, getTables, searchColumnValues } from '../shared/methods';
import { dynamicsTableProperty } from '../shared/properties';
import { execute } from './execute';

export class FieldReplacement implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dynamics Field Replacement',
		name: 'fieldReplacement',
		icon: { light: 'file:../icons/sync.svg', dark: 'file:../icons/sync.dark.svg' },
		group: ['transform'],
		version: 1,
		usableAsTool: true,
		subtitle:
			'={{$parameter["replacements"]["replacement"] ? $parameter["replacements"]["replacement"].length + " replacement(s)" : "no replacements"}}',
		description:
			'Replaces values of Microsoft Dynamics 365 fields with the values to write to Campaign',
		defaults: { name: 'Field Replacement' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: DYNAMICS_CREDENTIAL, required: true }],
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
								displayName: 'Microsoft Dynamics 365 Field Name or ID',
								name: 'field',
								type: 'options',
								typeOptions: { loadOptionsMethod: 'getColumns', loadOptionsDependsOn: ['table'] },
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
									'A value that exists in Microsoft Dynamics 365: from the list for picklist, status and boolean fields, typed for other fields',
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
								description: 'The value to write to Adobe Campaign Standard instead',
							},
						],
					},
				],
			},
		],
	};

	methods = {
		loadOptions: { getTables, getColumns },
		listSearch: { searchColumnValues },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await execute.call(this);
	}
}
