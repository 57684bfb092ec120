import{a,b,c}from"./chunk-L2TJ2S7O.js";import"./chunk-65NDCFFU.js";export{b as yaml,c as yamlFrontmatter,a as yamlLanguage};
