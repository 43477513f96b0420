"""Reference tables for the synthetic generator: Brazilian states and cities, Olist's
product categories (Portuguese names, English translations, typical prices) and the
words customers use for the things they bought.

Weights follow the shape of the real Olist data (Sao Paulo holds about 40% of customers,
bed/bath/table and health/beauty lead the categories); city names are written the way
Olist writes them: lower case, no accents.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class State:
    code: str
    name: str
    region: str
    weight: float  # share of customers, percent
    lat: float
    lng: float
    zip_start: int  # first 5-digit zip prefix of the state's range
    zip_span: int
    cities: tuple[tuple[str, float], ...]


STATES: tuple[State, ...] = (
    State("SP", "São Paulo", "Sudeste", 42.0, -23.55, -46.63, 1000, 18999,
          (("sao paulo", 40), ("campinas", 6), ("guarulhos", 5), ("santo andre", 4), ("osasco", 4),
           ("sao bernardo do campo", 4), ("ribeirao preto", 3), ("sorocaba", 3), ("santos", 3),
           ("sao jose dos campos", 3), ("jundiai", 2), ("piracicaba", 2), ("bauru", 2),
           ("sao jose do rio preto", 2), ("mogi das cruzes", 2), ("barueri", 2), ("taubate", 1))),
    State("RJ", "Rio de Janeiro", "Sudeste", 12.9, -22.91, -43.17, 20000, 8999,
          (("rio de janeiro", 55), ("niteroi", 9), ("nova iguacu", 6), ("sao goncalo", 6),
           ("duque de caxias", 5), ("petropolis", 4), ("volta redonda", 3), ("campos dos goytacazes", 3),
           ("macae", 2), ("teresopolis", 2))),
    State("MG", "Minas Gerais", "Sudeste", 11.7, -19.92, -43.94, 30000, 9999,
          (("belo horizonte", 30), ("contagem", 6), ("juiz de fora", 6), ("uberlandia", 6),
           ("betim", 3), ("montes claros", 3), ("uberaba", 3), ("divinopolis", 2), ("ipatinga", 2),
           ("governador valadares", 2), ("pocos de caldas", 2), ("varginha", 1))),
    State("RS", "Rio Grande do Sul", "Sul", 5.5, -30.03, -51.23, 90000, 9999,
          (("porto alegre", 35), ("caxias do sul", 8), ("canoas", 6), ("pelotas", 5), ("santa maria", 5),
           ("novo hamburgo", 4), ("passo fundo", 3), ("gravatai", 3))),
    State("PR", "Paraná", "Sul", 5.1, -25.43, -49.27, 80000, 7999,
          (("curitiba", 35), ("londrina", 9), ("maringa", 8), ("ponta grossa", 4), ("cascavel", 4),
           ("sao jose dos pinhais", 4), ("foz do iguacu", 3), ("colombo", 2))),
    State("SC", "Santa Catarina", "Sul", 3.7, -27.59, -48.55, 88000, 1999,
          (("florianopolis", 14), ("joinville", 12), ("blumenau", 10), ("sao jose", 6), ("itajai", 5),
           ("criciuma", 5), ("chapeco", 4), ("balneario camboriu", 4), ("palhoca", 3))),
    State("BA", "Bahia", "Nordeste", 3.4, -12.97, -38.50, 40000, 8999,
          (("salvador", 40), ("feira de santana", 8), ("vitoria da conquista", 5), ("lauro de freitas", 5),
           ("camacari", 4), ("itabuna", 3), ("ilheus", 3), ("juazeiro", 2))),
    State("DF", "Distrito Federal", "Centro-Oeste", 2.1, -15.79, -47.88, 70000, 3699,
          (("brasilia", 70), ("taguatinga", 8), ("ceilandia", 6), ("gama", 4), ("sobradinho", 3))),
    State("ES", "Espírito Santo", "Sudeste", 2.0, -20.32, -40.34, 29000, 999,
          (("vila velha", 25), ("vitoria", 25), ("serra", 18), ("cariacica", 12), ("cachoeiro de itapemirim", 6),
           ("linhares", 4))),
    State("GO", "Goiás", "Centro-Oeste", 2.0, -16.68, -49.25, 72800, 3999,
          (("goiania", 45), ("aparecida de goiania", 12), ("anapolis", 9), ("rio verde", 5), ("luziania", 3))),
    State("PE", "Pernambuco", "Nordeste", 1.7, -8.05, -34.88, 50000, 6999,
          (("recife", 45), ("jaboatao dos guararapes", 10), ("olinda", 8), ("caruaru", 6), ("petrolina", 6),
           ("paulista", 5))),
    State("CE", "Ceará", "Nordeste", 1.3, -3.73, -38.52, 60000, 3999,
          (("fortaleza", 65), ("caucaia", 6), ("juazeiro do norte", 6), ("maracanau", 5), ("sobral", 4))),
    State("PA", "Pará", "Norte", 1.0, -1.46, -48.49, 66000, 2899,
          (("belem", 50), ("ananindeua", 12), ("santarem", 8), ("maraba", 7), ("castanhal", 4))),
    State("MT", "Mato Grosso", "Centro-Oeste", 0.9, -15.60, -56.10, 78000, 899,
          (("cuiaba", 45), ("varzea grande", 15), ("rondonopolis", 10), ("sinop", 8))),
    State("MA", "Maranhão", "Nordeste", 0.75, -2.53, -44.30, 65000, 999,
          (("sao luis", 55), ("imperatriz", 15), ("timon", 6), ("caxias", 5))),
    State("MS", "Mato Grosso do Sul", "Centro-Oeste", 0.72, -20.44, -54.65, 79000, 999,
          (("campo grande", 60), ("dourados", 12), ("tres lagoas", 6), ("corumba", 4))),
    State("PB", "Paraíba", "Nordeste", 0.54, -7.12, -34.86, 58000, 999,
          (("joao pessoa", 55), ("campina grande", 20), ("santa rita", 5), ("patos", 4))),
    State("PI", "Piauí", "Nordeste", 0.5, -5.09, -42.80, 64000, 999,
          (("teresina", 65), ("parnaiba", 10), ("picos", 6))),
    State("RN", "Rio Grande do Norte", "Nordeste", 0.49, -5.79, -35.21, 59000, 999,
          (("natal", 55), ("mossoro", 15), ("parnamirim", 12))),
    State("AL", "Alagoas", "Nordeste", 0.42, -9.67, -35.74, 57000, 999,
          (("maceio", 65), ("arapiraca", 15), ("rio largo", 4))),
    State("SE", "Sergipe", "Nordeste", 0.35, -10.91, -37.07, 49000, 999,
          (("aracaju", 65), ("nossa senhora do socorro", 10), ("lagarto", 5))),
    State("TO", "Tocantins", "Norte", 0.28, -10.18, -48.33, 77000, 999,
          (("palmas", 45), ("araguaina", 25), ("gurupi", 10))),
    State("RO", "Rondônia", "Norte", 0.25, -8.76, -63.90, 76800, 199,
          (("porto velho", 50), ("ji-parana", 15), ("ariquemes", 10), ("vilhena", 8))),
    State("AM", "Amazonas", "Norte", 0.15, -3.12, -60.02, 69000, 299,
          (("manaus", 85), ("parintins", 5), ("itacoatiara", 4))),
    State("AC", "Acre", "Norte", 0.08, -9.97, -67.81, 69900, 99,
          (("rio branco", 80), ("cruzeiro do sul", 12))),
    State("AP", "Amapá", "Norte", 0.07, 0.03, -51.07, 68900, 99,
          (("macapa", 80), ("santana", 15))),
    State("RR", "Roraima", "Norte", 0.05, 2.82, -60.67, 69300, 99,
          (("boa vista", 90), ("rorainopolis", 5))),
)
STATE_BY_CODE: dict[str, State] = {s.code: s for s in STATES}
REGIONS: tuple[str, ...] = ("Sudeste", "Sul", "Nordeste", "Centro-Oeste", "Norte")

# Sellers are far more concentrated than customers.
SELLER_STATE_WEIGHTS: dict[str, float] = {
    "SP": 60, "PR": 11, "MG": 8, "SC": 6, "RJ": 5, "RS": 4, "GO": 1.3, "DF": 1, "ES": 0.8,
    "BA": 0.7, "PE": 0.4, "CE": 0.4, "MS": 0.2, "MT": 0.2, "RN": 0.2, "PB": 0.2, "MA": 0.1,
}


@dataclass(frozen=True)
class Category:
    name: str  # Olist's Portuguese key
    english: str
    label: str  # how a person says it
    weight: float  # share of items, percent
    price: float  # median item price, R$
    nouns: tuple[str, ...]  # what customers call the product, with its gender: "o " / "a "


CATEGORIES: tuple[Category, ...] = (
    Category("cama_mesa_banho", "bed_bath_table", "cama, mesa e banho", 10.0, 80,
             ("o jogo de lencol", "a toalha", "o edredom", "a colcha", "o jogo de cama", "a cortina")),
    Category("beleza_saude", "health_beauty", "beleza e saúde", 8.6, 90,
             ("o creme", "o shampoo", "a escova", "o kit de maquiagem", "o secador", "o suplemento")),
    Category("esporte_lazer", "sports_leisure", "esporte e lazer", 7.7, 80,
             ("a bicicleta", "o tenis", "a garrafa termica", "a bola", "o halter", "a mochila")),
    Category("moveis_decoracao", "furniture_decor", "móveis e decoração", 7.4, 85,
             ("o quadro", "o espelho", "a luminaria", "o painel", "a prateleira", "o tapete")),
    Category("informatica_acessorios", "computers_accessories", "informática e acessórios", 6.9, 100,
             ("o mouse", "o teclado", "o cabo", "o pendrive", "o fone", "o carregador")),
    Category("utilidades_domesticas", "housewares", "utilidades domésticas", 6.2, 70,
             ("a panela", "o jogo de copos", "a garrafa", "o escorredor", "a lixeira", "o pote")),
    Category("relogios_presentes", "watches_gifts", "relógios e presentes", 5.3, 150,
             ("o relogio", "a pulseira", "o relogio", "o kit presente")),
    Category("telefonia", "telephony", "telefonia", 4.0, 40,
             ("a capinha", "a pelicula", "o carregador", "o fone de ouvido", "o suporte")),
    Category("ferramentas_jardim", "garden_tools", "ferramentas e jardim", 3.9, 70,
             ("o vaso", "a mangueira", "o jogo de ferramentas", "o regador")),
    Category("automotivo", "auto", "automotivo", 3.8, 80,
             ("o tapete", "a capa de banco", "o som", "a lampada", "o suporte")),
    Category("brinquedos", "toys", "brinquedos", 3.6, 60,
             ("a boneca", "o carrinho", "o quebra-cabeca", "o jogo", "o lego")),
    Category("cool_stuff", "cool_stuff", "cool stuff", 3.4, 110, ("o produto", "o item", "o kit")),
    Category("perfumaria", "perfumery", "perfumaria", 3.0, 90,
             ("o perfume", "a colonia", "o desodorante", "o hidratante")),
    Category("bebes", "baby", "bebês", 2.7, 90,
             ("o carrinho de bebe", "a mamadeira", "o body", "o berco", "a cadeirinha")),
    Category("eletronicos", "electronics", "eletrônicos", 2.5, 40,
             ("o fone", "a caixinha de som", "o controle", "a pilha", "o cabo hdmi")),
    Category("papelaria", "stationery", "papelaria", 2.3, 50,
             ("o caderno", "a agenda", "o kit de canetas", "o estojo")),
    Category("fashion_bolsas_e_acessorios", "fashion_bags_accessories", "bolsas e acessórios", 1.8, 60,
             ("a bolsa", "a carteira", "o oculos", "o cinto")),
    Category("pet_shop", "pet_shop", "pet shop", 1.7, 60,
             ("a racao", "a caminha", "o arranhador", "a coleira", "o comedouro")),
    Category("moveis_escritorio", "office_furniture", "móveis de escritório", 1.5, 160,
             ("a cadeira", "a mesa", "o gaveteiro", "a estante")),
    Category("consoles_games", "consoles_games", "consoles e games", 1.0, 90,
             ("o controle", "o jogo", "o console", "o headset")),
    Category("malas_acessorios", "luggage_accessories", "malas e acessórios", 1.0, 130,
             ("a mala", "a mochila", "a bolsa de viagem")),
    Category("construcao_ferramentas_construcao", "construction_tools_construction", "construção", 0.8, 90,
             ("a furadeira", "a serra", "o nivel", "a parafusadeira")),
    Category("eletrodomesticos", "home_appliances", "eletrodomésticos", 0.7, 110,
             ("o aspirador", "o ventilador", "o ferro de passar", "a cafeteira")),
    Category("instrumentos_musicais", "musical_instruments", "instrumentos musicais", 0.6, 180,
             ("o violao", "a guitarra", "o teclado", "o jogo de cordas", "o cabo")),
    Category("eletroportateis", "small_appliances", "eletroportáteis", 0.6, 180,
             ("a airfryer", "o liquidificador", "a batedeira", "a sanduicheira", "o mixer")),
    Category("casa_construcao", "home_construction", "casa e construção", 0.5, 90,
             ("a torneira", "o chuveiro", "a fechadura", "o ralo")),
    Category("livros_interesse_geral", "books_general_interest", "livros", 0.5, 40,
             ("o livro", "a colecao de livros", "o box")),
    Category("alimentos", "food", "alimentos", 0.4, 40, ("o cafe", "o cha", "o azeite", "a castanha")),
    Category("moveis_sala", "furniture_living_room", "móveis de sala", 0.4, 150,
             ("o rack", "a poltrona", "o puff", "a mesa de centro")),
    Category("casa_conforto", "home_confort", "casa conforto", 0.4, 80, ("o travesseiro", "a almofada", "a manta")),
    Category("bebidas", "drinks", "bebidas", 0.3, 50, ("o vinho", "a cerveja artesanal", "o kit de bebidas")),
    Category("audio", "audio", "áudio", 0.3, 80, ("o fone bluetooth", "a caixa de som", "o microfone")),
    Category("climatizacao", "air_conditioning", "climatização", 0.25, 140, ("o ventilador", "o umidificador", "o climatizador")),
    Category("pcs", "computers", "computadores", 0.18, 1100, ("o computador", "o notebook", "o monitor")),
    Category("fashion_calcados", "fashion_shoes", "calçados", 0.23, 90, ("o tenis", "a sandalia", "a bota", "o chinelo")),
    Category("artes", "art", "artes", 0.18, 70, ("o quadro", "a tela", "o kit de pintura")),
    Category("artigos_de_festas", "party_supplies", "artigos de festas", 0.04, 50, ("o kit festa", "o pacote de baloes", "a decoracao")),
    Category("artigos_de_natal", "christmas_supplies", "artigos de Natal", 0.13, 60, ("a arvore de natal", "o pisca-pisca", "o enfeite")),
    Category("fashion_roupa_masculina", "fashion_male_clothing", "moda masculina", 0.1, 70, ("a camisa", "a bermuda", "a jaqueta")),
    Category("fashion_roupa_feminina", "fashion_female_clothing", "moda feminina", 0.05, 60, ("o vestido", "a blusa", "a saia")),
    Category("fraldas_higiene", "diapers_and_hygiene", "fraldas e higiene", 0.03, 45, ("o pacote de fraldas", "o pacote de lencos umedecidos")),
    Category("tablets_impressao_imagem", "tablets_printing_image", "tablets e impressão", 0.07, 90, ("o tablet", "a impressora", "o cartucho")),
    Category("sinalizacao_e_seguranca", "signaling_and_security", "sinalização e segurança", 0.18, 100, ("a camera", "o alarme", "a placa")),
    Category("market_place", "market_place", "marketplace", 0.28, 50, ("o produto", "o item")),
    Category("agro_industria_e_comercio", "agro_industry_and_commerce", "agroindústria e comércio", 0.2, 150, ("o equipamento", "a balanca")),
    Category("industria_comercio_e_negocios", "industry_commerce_and_business", "indústria e negócios", 0.25, 130, ("a maquina", "o expositor", "a etiquetadora")),
    Category("livros_tecnicos", "books_technical", "livros técnicos", 0.23, 70, ("o livro",)),
    Category("dvds_blu_ray", "dvds_blu_ray", "DVDs e Blu-ray", 0.06, 40, ("o dvd", "o blu-ray", "a colecao")),
    Category("musica", "music", "música", 0.03, 60, ("o cd", "o vinil")),
    Category("flores", "flowers", "flores", 0.03, 40, ("o buque", "o arranjo")),
)
CATEGORY_BY_NAME: dict[str, Category] = {c.name: c for c in CATEGORIES}
