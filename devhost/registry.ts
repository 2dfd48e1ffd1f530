/** The function registrations the app made, as the Functions worker receives them. */
export interface BindingMetadata {
  type: string;
  direction?: string;
  name: string;
  [option: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  bindings: Record<string, BindingMetadata>;
}

export type FunctionHandler = (...args: unknown[]) => unknown;

export interface RegisteredFunction {
  name: string;
  handler: FunctionHandler;
  trigger: BindingMetadata;
  extraInputs: BindingMetadata[];
  extraOutputs: BindingMetadata[];
}

export class Registry {
  private readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks = new Map<string, ((context: unknown) => unknown)[]>();

  add(metadata: FunctionMetadata, handler: FunctionHandler): void {
    const bindings = Object.entries(metadata.bindings).map(([name, b]) => ({ ...b, name }));
    const trigger = bindings.find((b) => b.type.toLowerCase().endsWith('trigger'));
    if (!trigger) throw new Error(`function '${metadata.name}' has no trigger binding`);
    if (this.functions.has(metadata.name.toLowerCase())) {
      throw new Error(`function '${metadata.name}' is registered twice: function names must be unique`);
    }
    this.functions.set(metadata.name.toLowerCase(), {
      name: metadata.name,
      handler,
      trigger,
      extraInputs: bindings.filter((b) => b !== trigger && b.direction === 'in'),
      extraOutputs: bindings.filter((b) => b.direction === 'out' && b.name !== '$return'),
    });
  }

  /** Function names are case-insensitive in Azure Functions. */
  get(name: string): RegisteredFunction | undefined {
    return this.functions.get(name.toLowerCase());
  }

  byTrigger(type: string): RegisteredFunction[] {
    return [...this.functions.values()].filter((f) => f.trigger.type === type);
  }

  all(): RegisteredFunction[] {
    return [...this.functions.values()];
  }
}
