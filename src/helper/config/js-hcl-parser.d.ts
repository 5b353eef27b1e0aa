// js-hcl-parser ships no types: hashicorp/hcl v1 compiled to JavaScript, returning JSON text or an error text.
declare module 'js-hcl-parser' {
  export function parse(text: string): string;
  export function stringify(json: string): string;
}
