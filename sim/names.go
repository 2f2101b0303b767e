package sim

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// countries lists the markets with their share of users and creators.
var countries = []struct {
	code  string
	share float64
}{
	{"IT", 0.22}, {"DE", 0.20}, {"FR", 0.18}, {"ES", 0.14}, {"NL", 0.06}, {"BE", 0.04},
	{"PT", 0.04}, {"PL", 0.04}, {"AT", 0.03}, {"SE", 0.02}, {"IE", 0.015}, {"GR", 0.015},
}

func countryWeights() []float64 {
	w := make([]float64, len(countries))
	for i, c := range countries {
		w[i] = c.share
	}
	return w
}

// categoryInfo holds a reference price and product nouns for the default
// categories; other categories get a random reference price and generic
// nouns.
var categoryInfo = map[string]struct {
	price float64
	nouns []string
}{
	"kitchen":     {35, []string{"Chef Knife", "Cast Iron Pan", `12" Skillet`, "Espresso Maker", "Cutting Board", "Spice Rack"}},
	"fashion":     {45, []string{"Linen Shirt", "Wool Coat", "Summer Dress", "Denim Jacket", "Silk Scarf", "Chinos"}},
	"beauty":      {25, []string{"Face Serum", "Lipstick", "Night Cream", "Eau de Parfum", "Mascara", "Hair Oil"}},
	"electronics": {120, []string{"Wireless Earbuds", "Smartwatch", "Bluetooth Speaker", "Power Bank", "Action Camera", "E-Reader"}},
	"home":        {60, []string{"Throw Blanket", "Table Lamp", "Scented Candle", "Ceramic Vase", "Cushion Set", "Wall Clock"}},
	"sports":      {50, []string{"Yoga Mat", "Running Shorts", "Dumbbell Set", "Tennis Racket", "Cycling Jersey", "Jump Rope"}},
	"toys":        {30, []string{"Building Blocks", "Plush Bear", "1000-Piece Puzzle", "RC Car", "Board Game", "Wooden Train"}},
	"books":       {15, []string{"Cookbook", "Thriller Novel", "Travel Guide", "Poetry Collection", "Graphic Novel", "Children's Book"}},
	"jewelry":     {80, []string{"Silver Ring", "Gold Necklace", "Pearl Earrings", "Charm Bracelet", "Anklet", "Brooch"}},
	"shoes":       {70, []string{"Sneakers", "Leather Boots", "Sandals", "Loafers", "Running Shoes", "Espadrilles"}},
	"bags":        {65, []string{"Tote Bag", "Backpack", "Crossbody Bag", "Weekender", "Clutch", "Laptop Sleeve"}},
	"outdoor":     {75, []string{"Tent", "Hiking Poles", "Sleeping Bag", "Camping Stove", "Rain Jacket", "Headlamp"}},
}

var genericNouns = []string{"Essentials Kit", "Gift Set", "Starter Pack", "Collection Box", "Bundle"}

var adjectives = []string{"Classic", "Premium", "Eco", "Mini", "Pro", "Vintage", "Soft", "Urban",
	"Deluxe", "Essential", "Signature", "Light", "Nordic", "Artisan", "Everyday"}

var (
	brandStarts  = []string{"Lu", "Ver", "Kap", "Mo", "Ta", "Ze", "Ri", "No", "Sol", "Bel", "Ar", "Ca", "Fi", "Ga", "Il", "Ju", "Ma", "Ol", "Pe", "Vi"}
	brandMiddles = []string{"mo", "ra", "li", "ve", "na", "to", "si", "ga", "dre", "lo", ""}
	brandEnds    = []string{"", "a", "o", "ix", "ia", "en", "us", "eo", "ell"}
	brandDecor   = []string{"Maison %s", "%s & Co.", "L'%s", "Café %s", "%s Studio", "Atelier %s"}
)

// brandName returns a made-up brand name, made unique with a numeric suffix.
func brandName(r *rand.Rand, used map[string]bool) string {
	name := brandStarts[r.IntN(len(brandStarts))] + brandMiddles[r.IntN(len(brandMiddles))] + brandEnds[r.IntN(len(brandEnds))]
	if r.Float64() < 0.15 {
		name = strings.Replace(brandDecor[r.IntN(len(brandDecor))], "%s", name, 1)
	}
	return unique(name, " ", used)
}

var (
	handleNames = []string{"giulia", "marco", "chloe", "lukas", "lucia", "pablo", "emma", "noah", "sofia", "matteo",
		"lea", "hugo", "zoe", "ana", "finn", "ines", "luca", "mila", "jonas", "clara", "zoé", "björn"}
	handleTopics = []string{"cooks", "style", "daily", "home", "fit", "beauty", "tech", "finds", "deals", "live", "loves", "world"}
	handleSeps   = []string{".", "_", ""}
)

// influencerHandle returns a unique creator handle such as "giulia.cooks".
func influencerHandle(r *rand.Rand, used map[string]bool) string {
	h := handleNames[r.IntN(len(handleNames))] + handleSeps[r.IntN(len(handleSeps))] + handleTopics[r.IntN(len(handleTopics))]
	return unique(h, "", used)
}

func unique(name, sep string, used map[string]bool) string {
	out := name
	for i := 2; used[out]; i++ {
		out = name + sep + strconv.Itoa(i)
	}
	used[out] = true
	return out
}

// Chat texts. Viewers pick questions (which refer to the showcased product)
// or reactions; buyers sometimes announce their order; bots post bursts.
var (
	chatQuestions = []string{
		"does it come in blue?", "does it come in black?", "what sizes do you have?", "is it still in stock?",
		"how long does shipping take?", "price?", "can you show it again?", "what's the material?",
		`is this the "limited" edition?`, "¿hay envío a España?", "c'est combien ?", "gibt es das auch in Größe M?",
	}
	chatReactions = []string{
		"love it 😍", "hi from Lisbon 👋", "wow", "so cute", "first time here", "bellissimo!", "😂😂",
		"great live", "link please", "ordered last week, super happy", "ciao a tutti!", "need this\\want this",
	}
	chatOrdered = "just ordered! 🛒"
	chatBursts  = []string{"🔥🔥🔥", "WOW amazing!!!", "best live ever", "follow me back", "❤️❤️❤️", "great product great price"}
)
