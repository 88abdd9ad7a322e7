import{a,b,c,d,e,f,g}from"./chunk-332FFLOP.js";import"./chunk-VYJBTMXZ.js";export{d as emailForm,b as failure,c as languageChoice,a as pageTitle,e as signInCard,g as signInLinkPage,f as signInPage};
