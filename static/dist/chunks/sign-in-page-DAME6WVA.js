import{a,b,c,d,e,f,g}from"./chunk-LT6UOPBQ.js";import"./chunk-6KBISBUC.js";export{d as emailForm,b as failure,c as languageChoice,a as pageTitle,e as signInCard,g as signInLinkPage,f as signInPage};
